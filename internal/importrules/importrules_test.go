package importrules

import (
	"bufio"
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/ticketflow-lab/tflab/"

// packages lists the non-test imports of every package matching pattern,
// keyed by import path.
func packages(t *testing.T, pattern string) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", pattern).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pattern, err)
	}
	pkgs := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 0 {
			pkgs[f[0]] = f[1:]
		}
	}
	if len(pkgs) == 0 {
		t.Fatalf("go list %s listed no packages", pattern)
	}
	return pkgs
}

// sharedLayers are the folders under system/ that every system's services
// share; they are not systems.
var sharedLayers = []string{"messaging", "service", "store", "runtime"}

// pluginPackage reports whether path is a system's plug-in side: its root
// package (system/<name>), where it describes itself to the lab, or a
// package under system/<name>/lab, its workload, probe, snapshot,
// invariants and counts.
func pluginPackage(path string) bool {
	rest, ok := strings.CutPrefix(path, module+"system/")
	if !ok {
		return false
	}
	name, sub, nested := strings.Cut(rest, "/")
	if slices.Contains(sharedLayers, name) {
		return false
	}
	return !nested || sub == "lab" || strings.HasPrefix(sub, "lab/")
}

func TestServicesNeverImportFaultsOrScenarios(t *testing.T) {
	pkgs := packages(t, module+"system/...")
	for path, imports := range pkgs {
		for _, imp := range imports {
			lab := strings.HasPrefix(imp, module+"anomalies") || strings.HasPrefix(imp, module+"scenarios")
			if lab && !pluginPackage(path) {
				t.Errorf("%s imports %s: a system's services reach the lab's faults and scenarios only through their public interfaces", path, imp)
			}
			if pluginPackage(imp) && imp != path && !pluginPackage(path) {
				t.Errorf("%s imports the plug-in package %s: services must not depend on the system's description", path, imp)
			}
		}
	}
}

func TestTracingDependsOnOTelAndAMQPOnly(t *testing.T) {
	for path, imports := range packages(t, module+"tracing/...") {
		for _, imp := range imports {
			first, _, _ := strings.Cut(imp, "/")
			std := !strings.Contains(first, ".")
			ok := std || strings.HasPrefix(imp, "go.opentelemetry.io/") || imp == "github.com/rabbitmq/amqp091-go" ||
				strings.HasPrefix(imp, module+"tracing")
			if !ok {
				t.Errorf("%s imports %s: tracing depends on OpenTelemetry, amqp091 and itself only", path, imp)
			}
		}
	}
}

// The rule must be able to fail: a service package importing scenarios/
// is caught, a plug-in package is not.
func TestPluginPackage(t *testing.T) {
	for path, want := range map[string]bool{
		module + "system/ticketflow":                true,
		module + "system/ticketsale":                true,
		module + "system/ticketflow/tickets":        false,
		module + "system/ticketflow/lab":            true,
		module + "system/ticketsale/lab/invariants": true,
		module + "system/ticketflow/labels":         false,
		module + "system/messaging/lab":             false,
		module + "system/messaging":                 false,
		module + "system/store":                     false,
		module + "scenarios/run":                    false,
	} {
		if got := pluginPackage(path); got != want {
			t.Errorf("pluginPackage(%s) = %v, want %v", path, got, want)
		}
	}
}

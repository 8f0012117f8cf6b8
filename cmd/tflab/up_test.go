package main

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/internal/broker"
	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/scenarios/sut"
)

// runInProcess runs tflab's command tree with its own streams and
// environment and returns what execute would exit with.
func runInProcess(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, code ExitCode) {
	t.Helper()
	var out, errb bytes.Buffer
	st := &state{stdout: &out, stderr: &errb, getenv: func(k string) string { return env[k] }}
	root := newRootCmd(st)
	root.SetArgs(args)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	err := root.ExecuteContext(ctx)
	if err != nil && isCobraUsageError(err) {
		err = withCode(ExitUsage, err)
	}
	if err != nil {
		errb.WriteString("tflab: " + err.Error() + "\n")
	}
	return out.String(), errb.String(), exitCodeOf(err)
}

func TestMissingRabbitMQSaysWhatToInstallWithExit3(t *testing.T) {
	env := map[string]string{rabbitBinDirEnv: t.TempDir()}
	for _, args := range [][]string{
		{"up", "--ports", "random", "--run-dir", t.TempDir()},
		{"bench", "proxy"},
		{"bench", "hop"},
	} {
		_, stderr, code := runInProcess(t, env, args...)
		if code != ExitEnvironment {
			t.Errorf("%v: exit %d, want 3; stderr:\n%s", args, code, stderr)
		}
		if !strings.Contains(stderr, "apt-get install -y rabbitmq-server") {
			t.Errorf("%v: stderr does not say what to install:\n%s", args, stderr)
		}
	}
}

func TestContainerBrokerWithoutDockerExits3(t *testing.T) {
	if broker.DockerAvailable(t.Context(), 5*time.Second) == nil {
		t.Skip("a Docker engine answers here; the no-Docker path cannot be observed")
	}
	_, stderr, code := runInProcess(t, nil, "up", "--broker", "container", "--ports", "random", "--run-dir", t.TempDir())
	if code != ExitEnvironment || !strings.Contains(stderr, "no Docker engine: ") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
}

func TestUpUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for name, args := range map[string][]string{
		"unknown system":         {"up", "--system", "nope", "--run-dir", dir},
		"bad ports":              {"up", "--ports", "some", "--run-dir", dir},
		"external with nodes":    {"up", "--amqp-url", "amqp://127.0.0.1:5672/", "--nodes", "2", "--run-dir", dir},
		"bad amqp url":           {"up", "--amqp-url", "http://x", "--run-dir", dir},
		"management without url": {"up", "--management-url", "http://x", "--run-dir", dir},
		"bad broker":             {"up", "--broker", "cloud", "--run-dir", dir},
		"scale unknown":          {"up", "--scale", "nobody=2", "--run-dir", dir},
		"scale zero":             {"up", "--scale", "tickets=0", "--run-dir", dir},
		"test-only system":       {"up", "--system", "placeholder", "--run-dir", dir},
		"unknown flag":           {"up", "--frobnicate"},
		"serve bad ref":          {"serve", "placeholder"},
		"serve unknown system":   {"serve", "nope/placeholder", "--amqp-url=amqp://h:1/", "--http-addr=127.0.0.1:1"},
		"serve unknown service":  {"serve", "ticketflow/nobody", "--amqp-url=amqp://h:1/", "--http-addr=127.0.0.1:1"},
		"serve invalid config":   {"serve", "ticketflow/tickets", "--http-addr=127.0.0.1:1"},
		"serve test-only system": {"serve", "placeholder/placeholder", "--amqp-url=amqp://h:1/", "--http-addr=127.0.0.1:1"},
		"bench without name":     {"bench"},
		"bench zero messages":    {"bench", "proxy", "--messages", "0"},
		"bench hop zero rounds":  {"bench", "hop", "--rounds", "0"},
	} {
		_, stderr, code := runInProcess(t, nil, args...)
		if code != ExitUsage {
			t.Errorf("%s: %v exited %d, want 2; stderr:\n%s", name, args, code, stderr)
		}
	}
}

func TestStatusAndDownWithoutALab(t *testing.T) {
	for _, args := range [][]string{{"status", "--run-dir", t.TempDir()}, {"down", "--run-dir", t.TempDir()}} {
		_, stderr, code := runInProcess(t, nil, args...)
		if code != ExitError || !strings.Contains(stderr, "no lab in") {
			t.Errorf("%v: exit %d, stderr:\n%s", args, code, stderr)
		}
	}
}

func TestServiceSpecsFollowTheSystemsTable(t *testing.T) {
	sys := sut.System{Services: []sut.Service{{Name: "inquiries"}, {Name: "sla", Instances: 2}}}
	got, err := serviceSpecs(sys, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []lab.ServiceSpec{{Name: "inquiries", Instances: 1}, {Name: "sla", Instances: 2}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("specs %+v, want %+v", got, want)
	}
	got, err = serviceSpecs(sys, map[string]int{"inquiries": 3})
	if err != nil || got[0].Instances != 3 || got[1].Instances != 2 {
		t.Fatalf("scaled specs %+v, %v", got, err)
	}
	if _, err := systems.Lookup("ticketflow"); err != nil {
		t.Fatal("the default system ticketflow is not in the table")
	}
	for _, s := range systems.All() {
		for _, ss := range s.Services {
			if m, err := lookupService(s.Name, ss.Name); err != nil || m == nil {
				t.Errorf("%s/%s: %v", s.Name, ss.Name, err)
			}
		}
	}
}

// --instances is the name for --scale: both reach the same check.
func TestUpInstancesIsScale(t *testing.T) {
	for _, flag := range []string{"--instances", "--scale"} {
		_, stderr, code := runInProcess(t, nil, "up", "--ports", "random", "--run-dir", t.TempDir(), flag, "nosuchservice=2")
		if code != ExitUsage || !strings.Contains(stderr, "--scale nosuchservice: no such service") {
			t.Errorf("%s: exit %d, want 2 with the no-such-service message; stderr:\n%s", flag, code, stderr)
		}
	}
}

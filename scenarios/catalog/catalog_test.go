package catalog

import (
	"bytes"
	"encoding/json"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/workload"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/ticketflow-lab/tflab/scenarios"
	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
)

func TestCatalogLoads(t *testing.T) {
	c, err := Load(allVocs)
	if err != nil {
		t.Fatal(err)
	}
	names := c.Names()
	perSystem := map[string]int{}
	for _, n := range names {
		s, _ := c.Get(n)
		perSystem[s.System]++
	}
	// Ticketflow: 12 plus quickstart; ticketsale: the ten.
	if perSystem["ticketflow"] < 13 || perSystem["ticketsale"] < 10 || len(perSystem) != len(allVocs) {
		t.Fatalf("catalog has %v scenarios per system, want at least 13 of ticketflow and 10 of ticketsale: %v", perSystem, names)
	}
	inapp := 0
	for _, n := range names {
		s, _ := c.Get(n)
		if s.Control == nil || len(s.Control.Expect.Violated) == 0 {
			t.Errorf("%s has no negative control naming an invariant", n)
			continue
		}
		for _, id := range s.Control.Expect.Violated {
			if _, ok := check.Lookup(s.Vocabulary().Invariants, id); !ok {
				t.Errorf("%s control expects unknown invariant %q", n, id)
			}
		}
		if len(s.Evidence) == 0 {
			t.Errorf("%s declares no evidence", n)
		}
		if len(s.Tags) == 0 {
			t.Errorf("%s has no tags", n)
		}
		if w := s.Workload.Config; w != nil && w.Span() > 2*time.Minute {
			t.Errorf("%s loads the system for %s; keep catalog workloads CI-sized", n, w.Span())
		}
		for _, st := range s.Method {
			if st.Action.Type() == spec.TypeInApp {
				inapp++
				break
			}
		}
		// Both runs resolve to a plan, and the control really differs.
		p, err := s.Plan(spec.PlanOptions{})
		if err != nil {
			t.Errorf("%s: %v", n, err)
			continue
		}
		cp, err := s.Plan(spec.PlanOptions{Control: true})
		if err != nil {
			t.Errorf("%s control: %v", n, err)
			continue
		}
		if reflect.DeepEqual(p.Protections, cp.Protections) && reflect.DeepEqual(p.Timeline, cp.Timeline) && p.Profile == cp.Profile &&
			p.QueueType == cp.QueueType && p.PartitionHandling == cp.PartitionHandling {
			t.Errorf("%s: the control runs exactly like the scenario", n)
		}
		if p.End > 60e9 {
			t.Errorf("%s method lasts %v; keep faults to seconds", n, p.End)
		}
	}
	if inapp < 3 {
		t.Errorf("%d scenarios use in-app anomalies, want at least 3", inapp)
	}
	q, err := c.Lookup("quickstart")
	if err != nil || !slices.Contains(q.Tags, "quickstart") {
		t.Fatalf("quickstart: %v %v", q, err)
	}
	if _, err := c.Lookup("no-such"); err == nil || !strings.Contains(err.Error(), "quickstart") {
		t.Errorf("Lookup error %v does not list the names", err)
	}
	if got := c.Tagged("inapp"); len(got) != inapp {
		t.Errorf("Tagged(inapp) = %d scenarios, %d use in-app anomalies", len(got), inapp)
	}
	if src, err := Source("quickstart"); err != nil || !bytes.Contains(src, []byte("name: quickstart")) {
		t.Errorf("Source: %v", err)
	}
	if src, err := Source("price-update-race"); err != nil || !bytes.Contains(src, []byte("system: ticketsale")) {
		t.Errorf("Source of a ticketsale scenario: %v", err)
	}
}

// LoadSystem reads one system's files: the same scenarios Load gives for
// that system, and none of another system's.
func TestLoadSystemReadsOneSystemsFiles(t *testing.T) {
	all, err := Load(allVocs)
	if err != nil {
		t.Fatal(err)
	}
	for _, voc := range allVocs {
		c, err := LoadSystem(voc)
		if err != nil {
			t.Fatalf("%s: %v", voc.System, err)
		}
		var want []string
		for _, n := range all.Names() {
			if s, _ := all.Get(n); s.System == voc.System {
				want = append(want, n)
			}
		}
		if got := c.Names(); len(got) == 0 || !slices.Equal(got, want) {
			t.Errorf("LoadSystem(%s) = %v, want %v", voc.System, got, want)
		}
	}
	// Load with one system's vocabulary refuses the other's files.
	if _, err := Load(ticketflowVocs); err == nil || !strings.Contains(err.Error(), `unknown system "ticketsale"`) {
		t.Errorf("Load with Ticketflow's vocabulary alone: %v", err)
	}
}

func TestLoadRejectsDuplicatesAndMisnamedFiles(t *testing.T) {
	good, err := files.ReadFile("quickstart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := load(fstest.MapFS{"other.yaml": {Data: good}}, ticketflowVocs, false); err == nil || !strings.Contains(err.Error(), "name the file") {
		t.Errorf("misnamed file: %v", err)
	}
	bad := bytes.Replace(good, []byte("seed: 1"), []byte("seed: one"), 1)
	if _, err := load(fstest.MapFS{"quickstart.yaml": {Data: bad}}, ticketflowVocs, false); err == nil || !strings.Contains(err.Error(), "catalog/quickstart.yaml:") {
		t.Errorf("bad file: %v", err)
	}
}

// compileSchema compiles the committed schema (Ticketflow's).
func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	return compileSchemaText(t, scenarios.Schema)
}

// compileSchemaFor compiles the schema generated from one system's vocabulary.
func compileSchemaFor(t *testing.T, voc spec.Vocabulary) *jsonschema.Schema {
	t.Helper()
	text, err := scenarios.SchemaFor(voc)
	if err != nil {
		t.Fatal(err)
	}
	return compileSchemaText(t, text)
}

func compileSchemaText(t *testing.T, text []byte) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("scenario.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("scenario.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// yamlToJSON converts a YAML document to the JSON value the validator wants.
func yamlToJSON(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Every catalog file satisfies the schema generated from its system's
// vocabulary (Ticketflow's is the committed file), and no other system's:
// a ticketsale file names services and invariants Ticketflow lacks.
func TestSchemaAcceptsEveryCatalogFile(t *testing.T) {
	schemas := map[string]*jsonschema.Schema{}
	for _, voc := range allVocs {
		schemas[voc.System] = compileSchemaFor(t, voc)
	}
	committed := compileSchema(t)
	c, err := Load(allVocs)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range c.Names() {
		s, _ := c.Get(n)
		src, _ := Source(n)
		doc := yamlToJSON(t, src)
		for system, sch := range schemas {
			err := sch.Validate(doc)
			if system == s.System && err != nil {
				t.Errorf("%s (%s): %v", n, s.System, err)
			}
			if system != s.System && err == nil {
				t.Errorf("%s (%s): %s's schema accepts it", n, s.System, system)
			}
		}
		if err := committed.Validate(doc); (err == nil) != (s.System == "ticketflow") {
			t.Errorf("%s (%s): the committed schema (Ticketflow's) says %v", n, s.System, err)
		}
	}
}

// A ticketsale file naming another system's service, message type or
// invariant fails both ticketsale's schema and the spec, with file:line.
func TestTicketsaleSchemaRejectsOtherSystemsNames(t *testing.T) {
	sch := compileSchemaFor(t, allVocs[1])
	good, err := Source("double-charge")
	if err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string][2]string{
		"Ticketflow's service":      {"    service: orders\n", "    service: sla\n"},
		"Ticketflow's message type": {`messageType: "payment:created"`, "messageType: TicketResolved"},
		"Ticketflow's invariant":    {"violated: [TS11]", "violated: [TF2]"},
	} {
		src := strings.Replace(string(good), edit[0], edit[1], 1)
		if src == string(good) {
			t.Fatalf("%s: edit did not apply", name)
		}
		if err := sch.Validate(yamlToJSON(t, []byte(src))); err == nil {
			t.Errorf("ticketsale's schema accepted a file with %s", name)
		}
		if _, err := spec.Parse("bad.yaml", []byte(src), allVocs); err == nil || !strings.Contains(err.Error(), "bad.yaml:") {
			t.Errorf("spec with %s: %v", name, err)
		}
	}
}

func TestSchemaRejectsBadFiles(t *testing.T) {
	sch := compileSchema(t)
	good, _ := Source("slow-consumer-backlog")
	for name, edit := range map[string][2]string{
		"unknown top-level field": {"seed: 17\n", "seed: 17\ncolour: red\n"},
		"unknown step field":      {"    op: close-connections\n", "    op: close-connections\n    force: true\n"},
		"unknown action type":     {"    type: broker\n", "    type: brokr\n"},
		"bad duration":            {"    duration: 9s\n", "    duration: nine\n"},
		"unknown anomaly":         {"anomaly: ConsumerDelayAfterHandler", "anomaly: ConsumerSlowdown"},
		"unknown invariant":       {"violated: [TF2]", "violated: [TF12]"},
		"unknown protection":      {"unprotect: [dedup, idempotency]", "unprotect: [dedupe, idempotency]"},
		"missing evidence":        {"evidence:\n  - queue.depth.max > 3\n  - deliveries.redelivered > 0\n", ""},
		"when of two forms":       {"    when: {step: slow-communication, phase: started, delay: 3s}\n", "    when: {messageType: TicketResolved, counter: outbox.pending, op: \">\"}\n"},
		"when on a bad counter":   {"    when: {step: slow-communication, phase: started, delay: 3s}\n", "    when: {counter: order.stale, op: \">\"}\n"},
	} {
		src := strings.Replace(string(good), edit[0], edit[1], 1)
		if src == string(good) {
			t.Fatalf("%s: edit did not apply", name)
		}
		if err := sch.Validate(yamlToJSON(t, []byte(src))); err == nil {
			t.Errorf("schema accepted a file with: %s", name)
		}
		if _, err := spec.Parse("bad.yaml", []byte(src), ticketflowVocs); err == nil {
			t.Errorf("spec accepted a file with: %s", name)
		}
	}
}

// TestSchemaKeysMatchTypes compares the schema's properties with the Go
// types' YAML keys, so neither can grow a field the other lacks.
func TestSchemaKeysMatchTypes(t *testing.T) {
	var doc struct {
		Properties map[string]any `json:"properties"`
		Defs       map[string]struct {
			Properties map[string]any `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(scenarios.Schema, &doc); err != nil {
		t.Fatal(err)
	}
	keys := func(m map[string]any) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	check := func(what string, schema, goKeys []string) {
		if !slices.Equal(schema, goKeys) {
			t.Errorf("%s: schema has %v, Go has %v", what, schema, goKeys)
		}
	}
	check("scenario", keys(doc.Properties), spec.YAMLKeys(reflect.TypeFor[spec.Scenario]()))
	for def, ty := range map[string]reflect.Type{
		"probe":       reflect.TypeFor[spec.Probe](),
		"steadyState": reflect.TypeFor[spec.SteadyState](), "control": reflect.TypeFor[spec.Control](),
		"match": reflect.TypeFor[spec.Match](), "inappParams": reflect.TypeFor[spec.InAppParams](),
		"when": reflect.TypeFor[spec.When](),
	} {
		check(def, keys(doc.Defs[def].Properties), spec.YAMLKeys(ty))
	}
	check("workload", keys(doc.Defs["workload"].Properties),
		slices.Sorted(slices.Values(append(spec.YAMLKeys(reflect.TypeFor[workload.Spec]()), spec.SettleKey, spec.HoldKey))))
	for _, typ := range spec.ActionTypes {
		check(typ+"Step", keys(doc.Defs[typ+"Step"].Properties), spec.StepKeys(typ))
	}
}

// TestSchemaWhenCountersMatchSpec keeps the schema's live counters equal to
// the ones the spec accepts.
func TestSchemaWhenCountersMatchSpec(t *testing.T) {
	var doc struct {
		Defs struct {
			When struct {
				Properties struct {
					Counter struct {
						Enum []string `json:"enum"`
					} `json:"counter"`
				} `json:"properties"`
			} `json:"when"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(scenarios.Schema, &doc); err != nil {
		t.Fatal(err)
	}
	if got, want := doc.Defs.When.Properties.Counter.Enum, spec.LiveCounters(); !slices.Equal(got, want) {
		t.Errorf("schema's when counters %v, spec's %v", got, want)
	}
}

// The cluster scenarios (*.yaml.cluster) are scenario files beside the
// catalog, not in it: each needs a private three-node cluster of its own
// and root for its nftables cuts. TestClusterScenariosLive (tags
// integration,scenario) runs them live. Here they must parse, satisfy the schema and ask for a cluster, and
// their control must differ from the run.
func TestClusterScenarioFilesParse(t *testing.T) {
	files, err := filepath.Glob("*.yaml.cluster")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no cluster scenario files (*.yaml.cluster)")
	}
	sch := compileSchema(t)
	c, err := Load(allVocs)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s, err := spec.Parse(f, src, ticketflowVocs)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if err := sch.Validate(yamlToJSON(t, src)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if s.Name+".yaml.cluster" != f {
			t.Errorf("%s holds scenario %q; name the file after the scenario", f, s.Name)
		}
		if _, dup := c.Get(s.Name); dup {
			t.Errorf("%s: the catalog has a scenario of the same name", f)
		}
		if s.Nodes < 3 || s.Control == nil || len(s.Control.Expect.Violated) == 0 {
			t.Errorf("%s: %d nodes, control %+v; want a cluster of 3 or more and a control naming an invariant", f, s.Nodes, s.Control)
			continue
		}
		p, err := s.Plan(spec.PlanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cp, err := s.Plan(spec.PlanOptions{Control: true})
		if err != nil {
			t.Fatal(err)
		}
		if reflect.DeepEqual(p.Protections, cp.Protections) && reflect.DeepEqual(p.Timeline, cp.Timeline) && p.Profile == cp.Profile &&
			p.QueueType == cp.QueueType && p.PartitionHandling == cp.PartitionHandling {
			t.Errorf("%s: the control runs exactly like the scenario", f)
		}
	}
}

// TestSchemaIsTicketflowsGenerated keeps the committed schema equal to the
// one generated from Ticketflow's vocabulary: the file's system names are
// written by scenarios.SchemaFor, never by hand.
func TestSchemaIsTicketflowsGenerated(t *testing.T) {
	gen, err := scenarios.SchemaFor(ticketflowVocs...)
	if err != nil {
		t.Fatal(err)
	}
	var got, want any
	if err := json.Unmarshal(gen, &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(scenarios.Schema, &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Error("scenarios/scenario.schema.json differs from scenarios.SchemaFor(Ticketflow's vocabulary)")
	}
	other := spec.Vocabulary{System: "shop", Services: []string{"orders"}, MessageTypes: []string{"OrderCreated"}}
	gen, err = scenarios.SchemaFor(append(ticketflowVocs, other)...)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{`"shop"`, `"orders"`, `"OrderCreated"`, `"ticketflow"`, `"sla"`} {
		if !bytes.Contains(gen, []byte(name)) {
			t.Errorf("schema for two systems lacks %s", name)
		}
	}
}

// Each catalog file's first line points editors at its system's schema:
// ../scenario.schema.json for Ticketflow, ../scenario.<system>.schema.json
// for another system, a file equal to scenarios.SchemaFor(its vocabulary).
func TestEveryFilePointsAtItsSystemsSchema(t *testing.T) {
	c, err := Load(allVocs)
	if err != nil {
		t.Fatal(err)
	}
	for _, voc := range allVocs[1:] {
		file := "../scenario." + voc.System + ".schema.json"
		committed, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%v (write it with tflab scenarios schema --system %s)", err, voc.System)
		}
		gen, err := scenarios.SchemaFor(voc)
		if err != nil {
			t.Fatal(err)
		}
		var got, want any
		if err := json.Unmarshal(committed, &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(gen, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s differs from scenarios.SchemaFor(%s's vocabulary): tflab scenarios schema --system %s > %s",
				file, voc.System, voc.System, strings.TrimPrefix(file, "../"))
		}
	}
	for _, n := range c.Names() {
		s, _ := c.Get(n)
		src, _ := Source(n)
		want := "../scenario.schema.json"
		if s.System != "ticketflow" {
			want = "../scenario." + s.System + ".schema.json"
		}
		first, _, _ := strings.Cut(string(src), "\n")
		if first != "# yaml-language-server: $schema="+want {
			t.Errorf("%s (%s): first line %q, want the modeline pointing at %s", n, s.System, first, want)
		}
	}
}

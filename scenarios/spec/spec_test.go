package spec

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

const valid = `# a full scenario
name: reset-during-consume
description: Connections reset while Communication consumes; the inbox absorbs the redeliveries.
tags: [network, smoke]
seed: 42
protections:
  ordering: {sla: on, tickets: off}
  confirms: on
workload:
  inquiries: 20
  rate: 10
  languages: {en: 3, pl: 1}
  resolveShare: 0.5
  settle: 15s
steadyState:
  before: [{probe: services-healthy}, {probe: broker-healthy}]
  after:
    - probe: queues-empty
      timeout: 30s
    - {probe: min-throughput, min: 2}
method:
  - name: reset
    at: 2s
    jitter: 1s
    duration: 3s
    type: network
    toxic: reset_peer
    link: communication
    direction: downstream
    attributes: {timeout: 200}
  - at: 1s
    type: inapp
    anomaly: ConsumerDelayAfterHandler
    service: communication
    messageType: TicketResolved
    params: {DelayInMs: 500}
  - at: 4s
    type: process
    op: restart
    service: communication
  - at: 5s
    duration: 1s
    type: message
    fault: reorder
    service: sla
    window: 4
    match: {messageType: TicketQualified, probability: 0.5}
rollbacks:
  - type: process
    op: resume
    service: communication
invariants: [TF1, ExactlyOnceEffects]
evidence: ["deliveries.redelivered > 0", "dedup.skips>0"]
expect: pass
control:
  unprotect: [dedup, "outbox:communication"]
  expect: {violated: [TF2]}
  evidence: ["deliveries.redelivered > 0"]
`

func TestParseValid(t *testing.T) {
	s, err := Parse("ok.yaml", []byte(valid), testVocs)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "reset-during-consume" || s.Seed != 42 || s.System != "ticketflow" || len(s.Method) != 4 {
		t.Fatalf("decoded %+v", s)
	}
	n, ok := s.Method[0].Action.(*NetworkAction)
	if !ok || n.Toxic != "reset_peer" || n.Attributes["timeout"] != 200 || s.Method[0].Duration.D() != 3*time.Second {
		t.Fatalf("network step %+v", s.Method[0])
	}
	if s.Method[1].Name != "inapp-1" || s.Method[2].Name != "process-1" {
		t.Errorf("default names %q %q", s.Method[1].Name, s.Method[2].Name)
	}
	if in := s.Method[1].Action.(*InAppAction); in.Parameters.DelayInMs != 500 {
		t.Errorf("inapp params %+v", in.Parameters)
	}
	if s.Method[0].Line() != 22 {
		t.Errorf("step line %d, want 22", s.Method[0].Line())
	}
	if got := s.Evidence[1].String(); got != "dedup.skips > 0" {
		t.Errorf("evidence %q", got)
	}
	if !s.Method[2].Action.Instant() || s.Method[0].Action.Instant() {
		t.Error("instant flags wrong")
	}
}

func TestParseErrorsAreLocated(t *testing.T) {
	cases := []struct {
		name, edit, want string
	}{
		{"unknown top-level field", "seed: 42\nsed: 1", "x.yaml:6: unknown field \"sed\""},
		{"unknown field in a step", "    toxic: reset_peer\n    colour: red", "x.yaml:28: unknown field \"colour\" in a network step"},
		{"unknown field in nested struct", "  settle: 15s\n  burst: 3", "x.yaml:15: unknown field \"burst\" in workload"},
		{"wrong type", "  inquiries: 20", "x.yaml:10: cannot unmarshal !!str `many`"},
		{"bad duration", "    at: 2s\n", "x.yaml:23: bad duration \"2 seconds\""},
		{"unknown action type", "    type: network\n", "x.yaml:26: unknown action type \"netwrok\""},
		{"unknown protection", "  confirms: on", "x.yaml:8: unknown protection \"confirm\""},
		{"bad protection value", "  confirms: on", "x.yaml:8: confirms must be on or off, not \"maybe\""},
		{"unknown invariant", "invariants: [TF1, ExactlyOnceEffects]", "x.yaml:52: invariants[1]: unknown invariant \"TF11\""},
		{"unknown in-app anomaly", "    anomaly: ConsumerDelayAfterHandler", "x.yaml:33: method[1].anomaly: unknown anomaly \"ConsumerSlowdown\""},
		{"delay anomaly without delay", "    params: {DelayInMs: 500}", "x.yaml:36: method[1].params.DelayInMs: ConsumerDelayAfterHandler needs DelayInMs > 0"},
		{"unknown evidence counter", `evidence: ["deliveries.redelivered > 0", "dedup.skips>0"]`, "x.yaml:53: unknown evidence counter \"dedup.skip\" (did you mean \"dedup.skips\"?)"},
		{"unknown toxic attribute", "    attributes: {timeout: 200}", "x.yaml:30: method[0].attributes.jitter: reset_peer has no attribute \"jitter\""},
		{"instant action with duration", "    op: restart\n", "method[2].duration: restart communication is instant"},
		{"control without violation", "  expect: {violated: [TF2]}", "x.yaml:57: expect.violated names no invariant"},
		{"bad unprotect", `  unprotect: [dedup, "outbox:communication"]`, "control.unprotect[1]: unknown service \"mail\""},
		{"duplicate key", "seed: 42", "x.yaml:6: mapping key \"seed\" already defined at line 5"},
		{"negative think", "  settle: 15s", "x.yaml:15: workload.think: must not be negative"},
	}
	replacements := map[string][2]string{
		"unknown top-level field":        {"seed: 42\n", "seed: 42\nsed: 1\n"},
		"unknown field in a step":        {"    toxic: reset_peer\n", "    toxic: reset_peer\n    colour: red\n"},
		"unknown field in nested struct": {"  settle: 15s\n", "  settle: 15s\n  burst: 3\n"},
		"wrong type":                     {"  inquiries: 20\n", "  inquiries: many\n"},
		"bad duration":                   {"    at: 2s\n", "    at: 2 seconds\n"},
		"unknown action type":            {"    type: network\n", "    type: netwrok\n"},
		"unknown protection":             {"  confirms: on\n", "  confirm: on\n"},
		"bad protection value":           {"  confirms: on\n", "  confirms: maybe\n"},
		"unknown invariant":              {"invariants: [TF1, ExactlyOnceEffects]", "invariants: [TF1, TF11]"},
		"unknown in-app anomaly":         {"    anomaly: ConsumerDelayAfterHandler", "    anomaly: ConsumerSlowdown"},
		"delay anomaly without delay":    {"    params: {DelayInMs: 500}", "    params: {StatusFilter: x}"},
		"unknown evidence counter":       {`"dedup.skips>0"`, `"dedup.skip > 0"`},
		"unknown toxic attribute":        {"    attributes: {timeout: 200}", "    attributes: {timeout: 200, jitter: 5}"},
		"instant action with duration":   {"    op: restart\n", "    op: restart\n    duration: 2s\n"},
		"control without violation":      {"  expect: {violated: [TF2]}", "  expect: {violated: []}"},
		"bad unprotect":                  {`"outbox:communication"`, `"outbox:mail"`},
		"duplicate key":                  {"seed: 42\n", "seed: 42\nseed: 43\n"},
		"negative think":                 {"  settle: 15s\n", "  settle: 15s\n  think: -2s\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := replacements[tc.name]
			src := strings.Replace(valid, r[0], r[1], 1)
			if src == valid {
				t.Fatalf("replacement %q did not apply", r[0])
			}
			_, err := Parse("x.yaml", []byte(src), testVocs)
			if err == nil {
				t.Fatal("parsed without error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error\n%v\ndoes not contain\n%s", err, tc.want)
			}
			var se *Error
			if !errors.As(err, &se) || se.File != "x.yaml" {
				t.Errorf("error is not a located *Error: %T %v", err, err)
			}
		})
	}
}

func TestParseReportsEveryError(t *testing.T) {
	src := strings.Replace(valid, "seed: 42\n", "seed: 42\nsed: 1\n", 1)
	src = strings.Replace(src, "  inquiries: 20\n", "  inquiries: many\n", 1)
	src = strings.Replace(src, "    toxic: reset_peer\n", "    toxic: reset_peer\n    colour: red\n", 1)
	_, err := Parse("x.yaml", []byte(src), testVocs)
	if err == nil {
		t.Fatal("parsed")
	}
	for _, want := range []string{`"sed"`, "`many`", `"colour"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %s in\n%v", want, err)
		}
	}
}

func TestValidateRequiresEvidenceAndMethod(t *testing.T) {
	src := "name: x\ndescription: d\nworkload: {inquiries: 1}\n"
	_, err := Parse("min.yaml", []byte(src), testVocs)
	if err == nil || !strings.Contains(err.Error(), "method: required") || !strings.Contains(err.Error(), "evidence: required") {
		t.Fatalf("err = %v", err)
	}
}

func TestPlan(t *testing.T) {
	s, err := Parse("ok.yaml", []byte(valid), testVocs)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Plan(PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Seed != 42 || p.Control || len(p.Expect.Violated) != 0 {
		t.Fatalf("plan %+v", p)
	}
	if !reflect.DeepEqual(p.Invariants, []string{"TF1", "TF2"}) {
		t.Errorf("invariants %v", p.Invariants)
	}
	// Timeline in start order; the jittered reset lands in [2s, 3s].
	var reset Scheduled
	for i, sc := range p.Timeline {
		if i > 0 && sc.At < p.Timeline[i-1].At {
			t.Errorf("timeline not sorted: %v", p.Timeline)
		}
		if sc.Name == "reset" {
			reset = sc
		}
	}
	if reset.At < 2*time.Second || reset.At > 3*time.Second || reset.HealAt != reset.At+3*time.Second {
		t.Errorf("reset scheduled %v → %v", reset.At, reset.HealAt)
	}
	// Inquiries 20 at 10/s end at 2s; the latest heal is later, and the
	// in-app step without duration heals at the end.
	for _, sc := range p.Timeline {
		if sc.Name == "inapp-1" && sc.HealAt != p.End {
			t.Errorf("inapp heal %v, end %v", sc.HealAt, p.End)
		}
		if sc.Name == "process-1" && sc.HealAt != 0 {
			t.Errorf("instant step heals at %v", sc.HealAt)
		}
	}
	if !p.Protections["ordering"]["sla"] || p.Protections["ordering"]["tickets"] || !p.Protections["dedup"]["tickets"] {
		t.Errorf("protections %v", p.Protections)
	}
	// Same seed, same plan; another seed moves the jitter eventually.
	p2, _ := s.Plan(PlanOptions{})
	if !reflect.DeepEqual(p.Timeline, p2.Timeline) {
		t.Error("plan not deterministic")
	}
	moved := false
	for seed := int64(1); seed < 20 && !moved; seed++ {
		p3, _ := s.Plan(PlanOptions{Seed: &seed})
		for _, sc := range p3.Timeline {
			moved = moved || (sc.Name == "reset" && sc.At != reset.At)
		}
	}
	if !moved {
		t.Error("the seed does not drive the jitter")
	}

	c, err := s.Plan(PlanOptions{Control: true, Unprotect: []string{"retries:sla"}})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Control || !reflect.DeepEqual(c.Expect.Violated, []string{"TF2"}) || len(c.Evidence) != 1 {
		t.Fatalf("control plan %+v", c)
	}
	if c.Protections["dedup"]["tickets"] || c.Protections["outbox"]["communication"] || !c.Protections["outbox"]["tickets"] ||
		c.Protections["retries"]["sla"] || !c.Protections["retries"]["tickets"] {
		t.Errorf("control protections %v", c.Protections)
	}
	if got := strings.Join(c.Off(), ","); got != "outbox:communication,dedup,ordering:tickets,retries:sla" {
		t.Errorf("Off() = %s", got)
	}
	m := c.Meta()
	if !m.Control || m.Seed != 42 || m.Scenario != "reset-during-consume" {
		t.Errorf("meta %+v", m)
	}
	if _, err := s.Plan(PlanOptions{Unprotect: []string{"dedupe"}}); err == nil {
		t.Error("bad --unprotect accepted")
	}
}

// malformed has six errors on six lines, of both kinds: decoding (a wrong
// type, a bad duration, an unknown field) and validation (a bad name, an
// unknown service in the step whose duration did not decode, an unknown
// invariant).
const malformed = `name: Bad Name
description: d
workload:
  inquiries: many
  rate: 5
method:
  - at: 2 seconds
    type: outage
    link: mail
  - at: 1s
    type: outage
    link: tickets
    colour: red
invariants: [TF1, TF99]
evidence: ["dedup.skips > 0"]
`

func TestParseReportsEveryErrorSortedByLine(t *testing.T) {
	_, err := Parse("bad.yaml", []byte(malformed), testVocs)
	if err == nil {
		t.Fatal("parsed")
	}
	want := []string{
		`bad.yaml:1: name: want a lowercase name`,
		"bad.yaml:4: cannot unmarshal !!str `many`",
		`bad.yaml:7: bad duration "2 seconds"`,
		`bad.yaml:9: method[0].link: unknown link (a service) "mail"`,
		`bad.yaml:13: unknown field "colour" in a outage step`,
		`bad.yaml:14: invariants[1]: unknown invariant "TF99"`,
	}
	got := strings.Split(err.Error(), "\n")
	if len(got) != len(want) {
		t.Fatalf("%d errors, want %d (no duplicates, nothing dropped):\n%v", len(got), len(want), err)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("error %d:\n got %s\nwant %s…", i+1, got[i], want[i])
		}
	}
	var located []*Error
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var le *Error
		if !errors.As(e, &le) || le.File != "bad.yaml" || le.Line == 0 {
			t.Errorf("not a located *Error: %T %v", e, e)
		}
		located = append(located, le)
	}
	if len(located) != len(want) {
		t.Errorf("%d joined errors, want %d", len(located), len(want))
	}
}

// A step that fails to decode keeps its place: the next step's validation
// errors still point at its own lines.
func TestParseFailedStepKeepsTheNextStepsLines(t *testing.T) {
	src := "name: x\ndescription: d\nworkload: {inquiries: 1}\nmethod:\n  - type: netwrok\n  - type: outage\n    link: mail\nevidence: [\"dedup.skips > 0\"]\n"
	_, err := Parse("x.yaml", []byte(src), testVocs)
	if err == nil {
		t.Fatal("parsed")
	}
	for _, want := range []string{`x.yaml:5: unknown action type "netwrok"`, `x.yaml:7: method[1].link: unknown link (a service) "mail"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %s in\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "duplicate step name") || strings.Contains(err.Error(), "method: required") {
		t.Errorf("a step that did not decode caused a second error:\n%v", err)
	}
}

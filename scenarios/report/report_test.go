package report

import (
	"bytes"
	"encoding/xml"
	"flag"
	tflab "github.com/ticketflow-lab/tflab/system/ticketflow/lab"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/invariants"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/tfhistory"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/synth"
)

var (
	update = flag.Bool("update", false, "rewrite testdata/golden from the committed history")
	regen  = flag.Bool("regen", false, "rebuild the committed history testdata/history from its recipe (review the diff!)")
)

const historyDir = "testdata/history"

// recipe is how testdata/history was built: a small run of
// reset-during-consume with one fault, a redelivery the inbox absorbed
// (legal), one closure message written twice (a TF2 violation) and a
// steady state not restored after the run (queues-empty failed).
func recipe() *history.History {
	res := synth.New(synth.Config{Seed: 5, Inquiries: 8})
	h := res.History
	h.Meta.Scenario = "reset-during-consume"
	h.Meta.Description = "Connections reset while Communication consumes; the inbox absorbs the redeliveries."
	h.Meta.Evidence = []history.Requirement{
		{Counter: "deliveries.redelivered", Op: ">", Value: 0},
		{Counter: "network.bytes-cut", Op: ">", Value: 0},
	}
	h.Meta.Limits = history.Limits{MaxAttempts: 4}
	start := h.Meta.Start
	h.Faults = []history.Fault{{Name: "reset", Type: "network", Op: "reset_peer", Target: "communication",
		Params:    map[string]string{"timeout": "300", "direction": "downstream"},
		PlannedAt: history.Duration(300 * time.Millisecond), Started: start.Add(310 * time.Millisecond),
		Healed: start.Add(900 * time.Millisecond)}}
	h.Counters["network.bytes-cut"] = 2048
	h.Probes = []history.Probe{
		{Phase: history.ProbeBefore, Name: "services-healthy", OK: true, Detail: "ok", At: start.Add(-200 * time.Millisecond), Took: history.Duration(12 * time.Millisecond)},
		{Phase: history.ProbeBefore, Name: "broker-healthy", OK: true, Detail: "ok", At: start.Add(-180 * time.Millisecond), Took: history.Duration(4 * time.Millisecond)},
		{Phase: history.ProbeAfter, Name: "queues-empty", Detail: "communication-ticket-resolved holds 2 (1 ready, 1 unacked)", At: h.Meta.End, Took: history.Duration(30 * time.Second)},
		{Phase: history.ProbeAfter, Name: "end-to-end", OK: true, Detail: "ok", At: h.Meta.End.Add(30 * time.Second), Took: history.Duration(1200 * time.Millisecond)},
	}
	for i := range h.Events {
		e := h.Events[i]
		if e.Kind == history.KindProcess && e.Service == "communication" && e.MessageType == "TicketResolved" {
			e.SpanID[7] ^= 0xff
			e.Start, e.End = e.Start.Add(40*time.Millisecond), e.End.Add(40*time.Millisecond)
			e.Redelivered, e.Attempt, e.Dedup = true, 2, history.DedupDuplicate
			h.Events = append(h.Events, e)
			break
		}
	}
	for _, m := range tf(h).Messages {
		if m.Kind == tfhistory.MessageClosure {
			m.ID = "closure-duplicate"
			tf(h).Messages = append(tf(h).Messages, m)
			break
		}
	}
	return h
}

func loadRun(t *testing.T) Run {
	t.Helper()
	if *regen {
		if err := history.Save(historyDir, recipe()); err != nil {
			t.Fatal(err)
		}
	}
	h, err := history.Load(historyDir)
	if err != nil {
		t.Fatal(err)
	}
	return Run{History: h, Verdict: check.Evaluate(h, invariants.All...), Counts: tflab.Counts(h)}
}

// controlOf is the same history judged as the negative control expecting TF2.
func controlOf(t *testing.T) Run {
	t.Helper()
	h, err := history.Load(historyDir)
	if err != nil {
		t.Fatal(err)
	}
	h.Meta.Control = true
	h.Meta.Expect.Violated = []string{"TF2"}
	for s := range h.Meta.Protections["dedup"] {
		h.Meta.Protections["dedup"][s] = false
	}
	return Run{History: h, Verdict: check.Evaluate(h, invariants.All...), Counts: tflab.Counts(h)}
}

// deviatedOf is the committed history without its duplicated closure
// message: every invariant holds, but the steady state was not restored.
func deviatedOf(t *testing.T) Run {
	t.Helper()
	h, err := history.Load(historyDir)
	if err != nil {
		t.Fatal(err)
	}
	h.Meta.Scenario = "reset-during-consume-deviated"
	tf(h).Messages = slices.DeleteFunc(tf(h).Messages, func(m tfhistory.Message) bool { return m.ID == "closure-duplicate" })
	return Run{History: h, Verdict: check.Evaluate(h, invariants.All...), Counts: tflab.Counts(h)}
}

// notStartedOf is the committed scenario stopped by a failed probe before
// its method: no workload, no spans, no faults.
func notStartedOf(t *testing.T) Run {
	t.Helper()
	full, err := history.Load(historyDir)
	if err != nil {
		t.Fatal(err)
	}
	meta := full.Meta
	meta.Scenario, meta.End = "reset-during-consume-not-started", meta.Start
	h := &history.History{Meta: meta, Probes: []history.Probe{
		{Phase: history.ProbeBefore, Name: "services-healthy", OK: true, Detail: "ok", At: meta.Start, Took: history.Duration(15 * time.Millisecond)},
		{Phase: history.ProbeBefore, Name: "end-to-end", Detail: "inquiry 4f0c did not become a ready ticket within 1ms: no ticket", At: meta.Start, Took: history.Duration(40 * time.Millisecond)},
	}}
	return Run{History: h, Verdict: check.Evaluate(h, invariants.All...), Counts: tflab.Counts(h)}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update and review the diff)\n--- got ---\n%s", name, got)
	}
}

const deviation = "steady state not restored after the run: queues-empty (communication-ticket-resolved holds 2 (1 ready, 1 unacked))"

func TestCommittedHistoryVerdict(t *testing.T) {
	for _, tc := range []struct {
		run     Run
		outcome check.Outcome
		reason  string
	}{
		{loadRun(t), check.OutcomeFail, "violated: TF2; also deviated: " + deviation},
		{controlOf(t), check.OutcomePass, "violated as expected: TF2; also deviated: " + deviation},
		{deviatedOf(t), check.OutcomeFail, "deviated: " + deviation},
		{notStartedOf(t), check.OutcomeInconclusive, "not started: steady state not met before the method: end-to-end (inquiry 4f0c did not become a ready ticket within 1ms: no ticket)"},
	} {
		if v := tc.run.Verdict; v.Outcome != tc.outcome || v.Reason != tc.reason {
			t.Errorf("%s: verdict %s: %q\nwant %s: %q", tc.run.SuiteName(), v.Outcome, v.Reason, tc.outcome, tc.reason)
		}
	}
}

func TestJournalGolden(t *testing.T) {
	run := loadRun(t)
	var b bytes.Buffer
	if err := WriteJournal(&b, NewJournal(run.History, run.Verdict, run.Counts...)); err != nil {
		t.Fatal(err)
	}
	golden(t, "journal.json", b.Bytes())
	j, err := ReadJournal(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if j.Seed != 5 || len(j.Timeline) != 1 || j.Timeline[0].StartedAt == nil || time.Duration(*j.Timeline[0].StartedAt) != 310*time.Millisecond {
		t.Errorf("journal round trip: %+v", j.Timeline)
	}
	if j.Verdict.ExitCode != 4 || len(j.Verdicts) != len(check.All(invariants.All))+4 {
		t.Errorf("journal verdicts %+v, %d rows", j.Verdict, len(j.Verdicts))
	}
	var rows []string
	for _, r := range j.Verdicts {
		rows = append(rows, r.Kind+" "+r.Phase+r.Invariant+" "+string(r.Result))
	}
	want := []string{"steady-state before PASS", "steady-state before PASS", "invariant TF1 PASS", "invariant TF2 VIOLATED"}
	if !slices.Equal(rows[:4], want) || rows[len(rows)-2] != "steady-state after DEVIATED" || rows[len(rows)-1] != "steady-state after PASS" {
		t.Errorf("journal rows %v", rows)
	}
	if last := j.Verdicts[len(j.Verdicts)-2]; last.Probe != "queues-empty" || last.Took != history.Duration(30*time.Second) ||
		last.Evidence != "communication-ticket-resolved holds 2 (1 ready, 1 unacked)" {
		t.Errorf("deviated row %+v", last)
	}
}

func TestJUnitGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJUnit(&b, loadRun(t), controlOf(t), deviatedOf(t), notStartedOf(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, "junit.xml", b.Bytes())
	var doc junitSuites
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Suites) != 4 || doc.Suites[0].Tests != len(check.All(invariants.All))+4+1 || doc.Suites[3].Tests != len(check.All(invariants.All))+2+1 {
		t.Fatalf("suites %+v", doc.Suites)
	}
	// run: TF2 and the deviation; control: the deviation (listed, not
	// judged, but a failed probe); deviated: the deviation; not started:
	// the before-probe.
	var got []int
	for _, s := range doc.Suites {
		got = append(got, s.Failures)
	}
	if !slices.Equal(got, []int{2, 1, 1, 1}) || doc.Failures != 5 {
		t.Errorf("failures per suite %v (total %d), want [2 1 1 1] (5)", got, doc.Failures)
	}
	if doc.Suites[3].Skipped != len(check.All(invariants.All)) || doc.Suites[3].Errors != 1 {
		t.Errorf("not started: %d skipped, %d errors; want every invariant skipped and the efficacy an error", doc.Suites[3].Skipped, doc.Suites[3].Errors)
	}
	for _, want := range []string{"broke TF2 ExactlyOnceEffects", "violated as expected",
		`name="steady state after: queues-empty"`, `type="deviated"`, `type="steady-state-not-met"`,
		`message="steady state not met before the method: end-to-end (inquiry 4f0c`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("junit misses %s", want)
		}
	}
}

func TestJUnitInconclusiveIsAnError(t *testing.T) {
	run := loadRun(t)
	h := run.History
	h.Meta.Evidence = []history.Requirement{{Counter: "dedup.skips", Op: ">", Value: 100}}
	tf(h).Messages = tf(h).Messages[:len(tf(h).Messages)-1] // drop the duplicate
	h.Probes = nil                                          // and the deviation
	run.Verdict, run.Counts = check.Evaluate(h, invariants.All...), tflab.Counts(h)
	if run.Verdict.Outcome != check.OutcomeInconclusive {
		t.Fatalf("verdict %s: %s", run.Verdict.Outcome, run.Verdict.Reason)
	}
	var b bytes.Buffer
	if err := WriteJUnit(&b, run); err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Errors != 1 || doc.Failures != 0 || !strings.Contains(b.String(), `type="inconclusive"`) {
		t.Errorf("errors %d failures %d:\n%s", doc.Errors, doc.Failures, b.String())
	}
}

func TestTableGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTable(&b, loadRun(t)); err != nil {
		t.Fatal(err)
	}
	for _, run := range []Run{controlOf(t), deviatedOf(t), notStartedOf(t)} {
		if err := WriteTable(&b, run); err != nil {
			t.Fatal(err)
		}
	}
	golden(t, "table.txt", b.Bytes())
	for _, want := range []string{"INVARIANT", "TF2 ExactlyOnceEffects", "VIOLATED", "VIOLATED (expected)", "fault efficacy", "verdict: FAIL (exit 4)", "verdict: PASS (exit 0)",
		"steady state before: services-healthy", "steady state after: queues-empty", "DEVIATED", "NOT MET", "verdict: FAIL (exit 4) deviated: " + deviation,
		"verdict: INCONCLUSIVE (exit 5) not started: "} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table misses %q", want)
		}
	}
}

var externalRef = regexp.MustCompile(`(?i)(https?:|//[a-z0-9.-]+\.[a-z]{2,}/|<script[^>]*src|<link\b|<img\b|@import|url\()`)

func TestHTMLGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHTML(&b, loadRun(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.html", b.Bytes())
	for _, want := range []string{"<h2>Steady state</h2>", "<td>queues-empty</td><td class=\"fail\">DEVIATED</td>",
		"communication-ticket-resolved holds 2 (1 ready, 1 unacked)", "<td>services-healthy</td><td class=\"pass\">PASS</td>"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report misses %s", want)
		}
	}
	b.Reset()
	if err := WriteHTML(&b, notStartedOf(t)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "<td>end-to-end</td><td class=\"inconclusive\">NOT MET</td>") || !strings.Contains(b.String(), "not started: steady state not met") {
		t.Errorf("the not-started report misses its probe row or reason:\n%s", b.String())
	}
	wellFormed(t, b.String())
}

func TestHTMLIsSelfContained(t *testing.T) {
	for _, run := range []Run{loadRun(t), controlOf(t)} {
		var b bytes.Buffer
		if err := WriteHTML(&b, run); err != nil {
			t.Fatal(err)
		}
		html := b.String()
		if m := externalRef.FindString(html); m != "" {
			t.Errorf("report references something outside itself: %q", m)
		}
		for _, want := range []string{"<svg", "<path", "TF2 ExactlyOnceEffects", "closure-duplicate", run.History.Meta.Scenario, ">reset<"} {
			if !strings.Contains(html, want) {
				t.Errorf("report misses %q", want)
			}
		}
		wellFormed(t, html)
	}
}

// wellFormed parses the page as XML: every element closed and nested, every
// entity known — enough for a browser and for other tools to read it.
func wellFormed(t *testing.T, page string) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(page))
	dec.Strict = true
	var stack []string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("report is not well-formed: %v", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			stack = append(stack, e.Name.Local)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) != 0 {
		t.Fatalf("unclosed elements: %v", stack)
	}
}

func TestUnprotected(t *testing.T) {
	p := map[string]map[string]bool{
		"dedup":    {"sla": false, "tickets": false},
		"ordering": {"sla": false, "tickets": true},
		"outbox":   {"sla": true, "tickets": true},
	}
	if got := strings.Join(Unprotected(p), ","); got != "dedup,ordering:sla" {
		t.Errorf("Unprotected = %s", got)
	}
}

// A step keyed to an event that never came is named as such in the journal
// and the HTML timeline, not only through its error text.
func TestNeverFiredStepInJournalAndHTML(t *testing.T) {
	run := loadRun(t)
	h := run.History
	h.Faults = append(h.Faults, history.Fault{Name: "broker-down", Type: "broker", Op: "stop",
		PlannedAt: history.Duration(time.Second), When: "tickets published TicketResolved ≥2", NeverFired: true,
		Error: "never fired: when tickets published TicketResolved ≥2"})
	run.Verdict, run.Counts = check.Evaluate(h, invariants.All...), tflab.Counts(h)
	j := NewJournal(h, run.Verdict, run.Counts...)
	last := j.Timeline[len(j.Timeline)-1]
	if !last.NeverFired || last.When != "tickets published TicketResolved ≥2" || last.StartedAt != nil {
		t.Errorf("journal timeline entry %+v", last)
	}
	var b strings.Builder
	if err := WriteHTML(&b, run); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "≥1s when tickets published TicketResolved ≥2") {
		t.Error("report.html does not show the step's when condition")
	}
}

// A step's until, and an until that never held, are in the journal and the
// HTML timeline beside its when.
func TestUntilInJournalAndHTML(t *testing.T) {
	run := loadRun(t)
	h := run.History
	start := h.Meta.Start
	h.Faults = append(h.Faults,
		history.Fault{Name: "lose-confirms", Type: "message", Op: "drop-confirm", When: "tickets published TicketResolved ≥1",
			Until: "kill-tickets started", Started: start.Add(time.Second), Healed: start.Add(2 * time.Second)},
		history.Fault{Name: "memory-alarm", Type: "broker", Op: "memory-alarm", PlannedAt: history.Duration(time.Second),
			Until: "broker-down healed", UntilNeverHeld: true, Started: start.Add(time.Second), Healed: start.Add(40 * time.Second)})
	run.Verdict, run.Counts = check.Evaluate(h, invariants.All...), tflab.Counts(h)
	j := NewJournal(h, run.Verdict, run.Counts...)
	got := j.Timeline[len(j.Timeline)-2:]
	if got[0].Until != "kill-tickets started" || got[0].UntilNeverHeld || got[1].Until != "broker-down healed" || !got[1].UntilNeverHeld {
		t.Errorf("journal timeline entries %+v", got)
	}
	var b strings.Builder
	if err := WriteHTML(&b, run); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"≥0s when tickets published TicketResolved ≥1, heals once kill-tickets started",
		"1s, heals once broker-down healed (never held: healed at the give-up time)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report.html does not show %q", want)
		}
	}
}

// Every violation's trace and message ids link to a waterfall drawn in the
// report; with a console named, also to the console's follow-a-message page.
func TestHTMLLinksViolationsToWaterfalls(t *testing.T) {
	run := loadRun(t)
	for _, console := range []string{"", ConsoleTraceURL("http://127.0.0.1:21080", "20260101-000000-reset-during-consume")} {
		run.ConsoleTrace = console
		var b bytes.Buffer
		if err := WriteHTML(&b, run); err != nil {
			t.Fatal(err)
		}
		html := b.String()
		wellFormed(t, html)
		n := 0
		for _, r := range run.Verdict.Results {
			for _, v := range r.Violations {
				for _, id := range v.TraceIDs {
					n++
					if !strings.Contains(html, `<a href="#trace-`+id+`">`+id+`</a>`) {
						t.Errorf("trace %s of %s does not link to its waterfall", id, r.ID)
					}
					if !strings.Contains(html, `<section class="waterfall" id="trace-`+id+`">`) {
						t.Errorf("trace %s of %s has no waterfall", id, r.ID)
					}
					consoleLink := `href="http://127.0.0.1:21080/trace?run=20260101-000000-reset-during-consume&amp;id=` + id + `"`
					if got := strings.Contains(html, consoleLink); got != (console != "") {
						t.Errorf("console %q: link to the console's waterfall of %s present: %v", console, id, got)
					}
				}
				for _, id := range v.MessageIDs {
					if !strings.Contains(html, `<a href="#trace-`+v.TraceIDs[0]+`">`+id+`</a>`) {
						t.Errorf("message %s of %s does not link to its trace's waterfall", id, r.ID)
					}
				}
			}
		}
		if n == 0 {
			t.Fatal("the committed run has no violation with a trace id: nothing was checked")
		}
		if console == "" && externalRef.MatchString(html) {
			t.Errorf("without a console the report references %q", externalRef.FindString(html))
		}
	}
}

// tf returns h's Ticketflow snapshot, to break in place (a loaded
// history's JSON is decoded once and then held typed).
func tf(h *history.History) *tfhistory.Snapshot {
	s, err := tfhistory.Of(h)
	if err != nil || s == nil {
		panic("no Ticketflow snapshot in the history")
	}
	h.Snapshot.System = history.NewSystemSnapshot(s) // hold the typed value, so edits stay
	return s
}

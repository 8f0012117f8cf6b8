package report

import (
	"bytes"
	"encoding/xml"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/history/synth"
)

var (
	update = flag.Bool("update", false, "rewrite testdata/golden from the committed history")
	regen  = flag.Bool("regen", false, "rebuild the committed history testdata/history from its recipe (review the diff!)")
)

const historyDir = "testdata/history"

// recipe is how testdata/history was built: a small run of
// reset-during-consume with one fault, a redelivery the inbox absorbed
// (legal) and one closure message written twice (a TF2 violation).
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
	for _, m := range h.Snapshot.Messages {
		if m.Kind == history.MessageClosure {
			m.ID = "closure-duplicate"
			h.Snapshot.Messages = append(h.Snapshot.Messages, m)
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
	return Run{History: h, Verdict: check.Evaluate(h)}
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
	return Run{History: h, Verdict: check.Evaluate(h)}
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

func TestCommittedHistoryVerdict(t *testing.T) {
	run := loadRun(t)
	if run.Verdict.Outcome != check.OutcomeFail || run.Verdict.ExitCode != check.ExitViolated {
		t.Fatalf("verdict %s/%d %s, want FAIL/4 (the history holds a duplicated closure)", run.Verdict.Outcome, run.Verdict.ExitCode, run.Verdict.Reason)
	}
	c := controlOf(t)
	if c.Verdict.Outcome != check.OutcomePass {
		t.Fatalf("control verdict %s: %s", c.Verdict.Outcome, c.Verdict.Reason)
	}
}

func TestJournalGolden(t *testing.T) {
	run := loadRun(t)
	var b bytes.Buffer
	if err := WriteJournal(&b, NewJournal(run.History, run.Verdict)); err != nil {
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
	if j.Verdict.ExitCode != 4 || len(j.Verdicts) != len(check.Invariants) {
		t.Errorf("journal verdicts %+v", j.Verdict)
	}
}

func TestJUnitGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJUnit(&b, loadRun(t), controlOf(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, "junit.xml", b.Bytes())
	var doc junitSuites
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Suites) != 2 || doc.Suites[0].Tests != len(check.Invariants)+1 {
		t.Fatalf("suites %+v", doc.Suites)
	}
	if doc.Failures != 1 || doc.Suites[0].Failures != 1 || doc.Suites[1].Failures != 0 {
		t.Errorf("failures: total %d, run %d, control %d; want 1, 1, 0", doc.Failures, doc.Suites[0].Failures, doc.Suites[1].Failures)
	}
	if !strings.Contains(b.String(), "broke TF2 ExactlyOnceEffects") || !strings.Contains(b.String(), "violated as expected") {
		t.Error("junit misses the violation or the control's note")
	}
}

func TestJUnitInconclusiveIsAnError(t *testing.T) {
	run := loadRun(t)
	h := run.History
	h.Meta.Evidence = []history.Requirement{{Counter: "dedup.skips", Op: ">", Value: 100}}
	h.Snapshot.Messages = h.Snapshot.Messages[:len(h.Snapshot.Messages)-1] // drop the duplicate
	run.Verdict = check.Evaluate(h)
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
	if err := WriteTable(&b, controlOf(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, "table.txt", b.Bytes())
	for _, want := range []string{"INVARIANT", "TF2 ExactlyOnceEffects", "VIOLATED", "VIOLATED (expected)", "fault efficacy", "verdict: FAIL (exit 4)", "verdict: PASS (exit 0)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table misses %q", want)
		}
	}
}

var externalRef = regexp.MustCompile(`(?i)(https?:|//[a-z0-9.-]+\.[a-z]{2,}/|<script[^>]*src|<link\b|<img\b|@import|url\()`)

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

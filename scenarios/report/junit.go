package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/scenarios/history"
)

// Run is one judged run, as the JUnit and table renderers take it.
type Run struct {
	History *history.History
	Verdict check.Verdict
	// Counts are the system's counts of the run (sut.System.Counts).
	Counts []history.Count
}

// SuiteName names a run's test suite: the scenario, marked when it is the control.
func (r Run) SuiteName() string {
	if r.History.Meta.Control {
		return r.History.Meta.Scenario + " (control)"
	}
	return r.History.Meta.Scenario
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Time       string          `xml:"time,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	ClassName string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure"`
	Error     *junitMessage `xml:"error"`
	Skipped   *junitMessage `xml:"skipped"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes one <testsuite> per run and one <testcase> per
// steady-state probe and per invariant, plus a "fault efficacy" case:
//
//   - probe failed before the method → <failure type="steady-state-not-met">
//   - probe failed after the run     → <failure type="deviated"> (also in a
//     negative control, whose verdict only lists it)
//   - VIOLATED (not expected)        → <failure type="violated"> with every violation
//   - expected violation that held   → <failure type="expected-violation-missing">
//   - INCONCLUSIVE, missing evidence → <error type="inconclusive">: a run that
//     proves nothing must not look green in CI (a <skipped> often does)
//   - not selected by the scenario   → <skipped>
//   - violated as expected (control) → passes, with the violations in <system-out>
func WriteJUnit(w io.Writer, runs ...Run) error {
	doc := junitSuites{Name: "tflab"}
	for _, run := range runs {
		s := suite(run)
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
		doc.Suites = append(doc.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	return nil
}

func suite(run Run) junitSuite {
	h, v := run.History, run.Verdict
	class := "tflab." + h.Meta.Scenario
	if h.Meta.Control {
		class += ".control"
	}
	s := junitSuite{
		Name: run.SuiteName(),
		Time: seconds(h.Meta.End.Sub(h.Meta.Start).Seconds()),
		Properties: []junitProperty{
			{"seed", strconv.FormatInt(h.Meta.Seed, 10)},
			{"control", strconv.FormatBool(h.Meta.Control)},
			{"unprotected", strings.Join(Unprotected(h.Meta.Protections), ",")},
			{"verdict", string(v.Outcome)},
			{"exitCode", strconv.Itoa(v.ExitCode)},
			{"reason", v.Reason},
		},
	}
	if !h.Meta.Start.IsZero() {
		s.Timestamp = h.Meta.Start.UTC().Format("2006-01-02T15:04:05")
	}
	probes := func(phase string) {
		for _, p := range v.Probes {
			if p.Phase != phase {
				continue
			}
			c := junitCase{ClassName: class, Name: p.Title(), Time: seconds(time.Duration(p.Took).Seconds())}
			switch p.Status() {
			case check.NotMet:
				c.Failure = &junitMessage{Message: "steady state not met before the method: " + p.Name + " (" + p.Detail + ")",
					Type: "steady-state-not-met", Text: "the method did not run: " + p.Detail}
				s.Failures++
			case check.Deviated:
				c.Failure = &junitMessage{Message: "steady state not restored after the run: " + p.Name + " (" + p.Detail + ")",
					Type: "deviated", Text: p.Detail}
				s.Failures++
			default:
				c.SystemOut = p.Evidence()
			}
			s.Cases = append(s.Cases, c)
		}
	}
	probes(history.ProbeBefore)
	for _, r := range v.Results {
		c := junitCase{ClassName: class, Name: r.ID + " " + r.Name, Time: "0"}
		switch {
		case r.Status == check.Skipped:
			c.Skipped = &junitMessage{Message: r.Reason}
			s.Skipped++
		case r.Expected && r.Status == check.Violated:
			c.SystemOut = "violated as expected (negative control)\n" + violationText(r)
		case r.Expected:
			c.Failure = &junitMessage{Message: fmt.Sprintf("expected %s to be violated, but it was %s", r.ID, r.Status),
				Type: "expected-violation-missing", Text: r.Guarantee + "\n" + r.Evidence()}
			s.Failures++
		case r.Status == check.Violated:
			c.Failure = &junitMessage{Message: r.Err().Error(), Type: "violated", Text: violationText(r)}
			s.Failures++
		case r.Status == check.Inconclusive:
			c.Error = &junitMessage{Message: "INCONCLUSIVE: " + r.Reason, Type: "inconclusive", Text: r.Evidence()}
			s.Errors++
		default:
			c.SystemOut = r.Evidence()
		}
		s.Cases = append(s.Cases, c)
	}
	probes(history.ProbeAfter)
	eff := junitCase{ClassName: class, Name: "fault efficacy", Time: "0", SystemOut: evidenceText(v.Evidence)}
	if !EvidenceMet(v.Evidence) {
		msg := "INCONCLUSIVE: the fault left no evidence"
		if len(v.Evidence) == 0 {
			msg = "INCONCLUSIVE: the scenario declares no evidence"
		}
		eff.Error = &junitMessage{Message: msg, Type: "inconclusive", Text: evidenceText(v.Evidence)}
		s.Errors++
	}
	s.Cases = append(s.Cases, eff)
	s.Tests = len(s.Cases)
	return s
}

// EvidenceMet reports whether evidence was declared and every requirement met.
func EvidenceMet(ev []check.EvidenceResult) bool {
	if len(ev) == 0 {
		return false
	}
	for _, e := range ev {
		if !e.Met {
			return false
		}
	}
	return true
}

func violationText(r check.Result) string {
	var b strings.Builder
	for _, v := range r.Violations {
		b.WriteString(v.String())
		b.WriteByte('\n')
	}
	return b.String()
}

func evidenceText(ev []check.EvidenceResult) string {
	var b strings.Builder
	for _, e := range ev {
		obs := "not recorded"
		if e.Present {
			obs = "observed " + strconv.FormatFloat(e.Observed, 'f', -1, 64)
		}
		mark := "met"
		if !e.Met {
			mark = "NOT met"
		}
		fmt.Fprintf(&b, "%s: %s (%s)\n", e.Requirement, mark, obs)
	}
	return b.String()
}

func seconds(f float64) string { return strconv.FormatFloat(f, 'f', 3, 64) }

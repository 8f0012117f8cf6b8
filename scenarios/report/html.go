package report

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/scenarios/history"
)

// MaxViolationsShown caps the violations listed per invariant in report.html
// (the journal keeps all of them).
const MaxViolationsShown = 200

// WriteHTML writes report.html: one self-contained file (inline CSS and SVG,
// no scripts, no external assets) with the steady-state probes, the verdict
// table, the fault evidence, a timeline of the faults against throughput and
// latency, and every violation with its message and trace ids — something an
// instructor can project without a network.
func WriteHTML(w io.Writer, run Run) error {
	if err := page.Execute(w, newView(run)); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

type view struct {
	Title       string
	Description string
	Seed        int64
	Unprotected string
	Start       string
	Duration    string
	Verdict     check.Verdict
	Class       string
	Rows        []row
	Probes      []probeRow
	Efficacy    []check.EvidenceResult
	Chart       chart
	Faults      []faultRow
	Violations  []violationGroup
	Waterfalls  []waterfall
	Counts      Counts
	Counters    []counter
}

type row struct {
	ID, Name, Result, Class, Evidence, Guarantee string
	Trace                                        idLink
}

// probeRow is one steady-state probe.
type probeRow struct {
	Phase, Name, Result, Class, Detail, Took string
}

type faultRow struct {
	Name, Type, Target, Params, Planned, Started, Healed, Error string
}

type violationGroup struct {
	ID, Name, Guarantee string
	Violations          []violationRow
	More                int
	Expected            bool
}

// violationRow is one violation with its ids' links.
type violationRow struct {
	check.Violation
	Messages, Traces []idLink
}

type counter struct {
	Name  string
	Value string
}

// chart is the timeline drawing, precomputed so the template only places it.
type chart struct {
	Width, Height        int
	Left, Right          int
	LaneTop, LaneH       int
	TputTop, TputH       int
	LatTop, LatH         int
	Bands                []band
	Ticks                []tick
	Throughput, LatMax   string // SVG path data
	LatP50               string
	TputMax, LatMaxLabel string
	HasData              bool
}

type band struct {
	X, W, Y   float64
	Label     string
	Failed    bool
	LabelX    float64
	FullTitle string
}

type tick struct {
	X     float64
	Label string
}

func newView(run Run) view {
	h, v := run.History, run.Verdict
	j := NewJournal(h, v, run.Counts...)
	vw := view{
		Title: run.SuiteName(), Description: h.Meta.Description, Seed: h.Meta.Seed,
		Unprotected: strings.Join(j.Unprotected, ", "), Verdict: v, Counts: j.Counts,
		Start: h.Meta.Start.UTC().Format(time.RFC3339), Duration: time.Duration(j.Duration).Round(time.Millisecond).String(),
		Class: strings.ToLower(string(v.Outcome)), Efficacy: v.Evidence,
	}
	if vw.Unprotected == "" {
		vw.Unprotected = "none (all protections on)"
	}
	// The traces of the violations shown get a waterfall each (the first
	// MaxWaterfalls); every id links to its waterfall and, when the run
	// names a console, to the console's follow-a-message page.
	var traceIDs []string
	for _, r := range v.Results {
		shown := r.Violations[:min(len(r.Violations), MaxViolationsShown)]
		for _, viol := range shown {
			traceIDs = append(traceIDs, viol.TraceIDs...)
		}
	}
	vw.Waterfalls = waterfalls(h, traceIDs)
	drawn := map[string]bool{}
	for _, w := range vw.Waterfalls {
		drawn[w.TraceID] = true
	}
	link := func(id string, trace bool) idLink {
		l := idLink{ID: id}
		if trace && drawn[id] {
			l.Anchor = "#trace-" + id
		}
		if run.ConsoleTrace != "" && id != "" {
			l.Console = run.ConsoleTrace + url.QueryEscape(id)
		}
		return l
	}
	for _, r := range v.Results {
		vw.Rows = append(vw.Rows, row{ID: r.ID, Name: r.Name, Result: resultLabel(r), Class: statusClass(r),
			Evidence: r.Evidence(), Trace: link(r.ExampleTraceID(), true), Guarantee: r.Guarantee})
		if len(r.Violations) > 0 {
			g := violationGroup{ID: r.ID, Name: r.Name, Guarantee: r.Guarantee, Expected: r.Expected}
			shown := r.Violations
			if len(shown) > MaxViolationsShown {
				g.More = len(shown) - MaxViolationsShown
				shown = shown[:MaxViolationsShown]
			}
			for _, viol := range shown {
				vr := violationRow{Violation: viol}
				anchor := "" // a message id links to the violation's first waterfall
				for _, id := range viol.TraceIDs {
					l := link(id, true)
					if anchor == "" {
						anchor = l.Anchor
					}
					vr.Traces = append(vr.Traces, l)
				}
				for _, id := range viol.MessageIDs {
					l := link(id, false)
					l.Anchor = anchor
					vr.Messages = append(vr.Messages, l)
				}
				g.Violations = append(g.Violations, vr)
			}
			vw.Violations = append(vw.Violations, g)
		}
	}
	for _, p := range v.Probes {
		pr := probeRow{Phase: p.Phase, Name: p.Name, Result: string(p.Status()), Class: "pass", Detail: p.Detail}
		switch p.Status() {
		case check.NotMet:
			pr.Class = "inconclusive"
		case check.Deviated:
			pr.Class = "fail"
		}
		if p.Took > 0 {
			pr.Took = p.Took.String()
		}
		vw.Probes = append(vw.Probes, pr)
	}
	for _, t := range j.Timeline {
		fr := faultRow{Name: t.Name, Type: t.Type, Target: t.Target, Planned: t.PlannedAt.String(), Error: strings.TrimSpace(t.Error + " " + t.HealError)}
		if t.When != "" {
			fr.Planned = "≥" + fr.Planned + " when " + t.When
		}
		if t.Until != "" {
			fr.Planned += ", heals once " + t.Until
			if t.UntilNeverHeld {
				fr.Planned += " (never held: healed at the give-up time)"
			}
		}
		var ps []string
		for _, k := range slices.Sorted(mapsKeys(t.Params)) {
			ps = append(ps, k+"="+t.Params[k])
		}
		fr.Params = strings.Join(ps, " ")
		if t.StartedAt != nil {
			fr.Started = t.StartedAt.String()
		}
		if t.HealedAt != nil {
			fr.Healed = t.HealedAt.String()
		}
		vw.Faults = append(vw.Faults, fr)
	}
	for _, k := range slices.Sorted(mapsKeys(v.Counters)) {
		vw.Counters = append(vw.Counters, counter{k, formatFloat(v.Counters[k])})
	}
	vw.Chart = newChart(h)
	return vw
}

func statusClass(r check.Result) string {
	switch {
	case r.Expected && r.Status == check.Violated:
		return "pass"
	case r.Expected:
		return "fail"
	case r.Status == check.Pass:
		return "pass"
	case r.Status == check.Violated:
		return "fail"
	case r.Status == check.Inconclusive:
		return "inconclusive"
	}
	return "skipped"
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func formatFloat(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return fmt.Sprintf("%d", int64(f))
	}
	return fmt.Sprintf("%.1f", f)
}

// newChart buckets handlings by completion time: throughput (handlings per
// second) and publish-to-handling latency (p50 and max, ms) per bucket, with
// one lane per fault above and the fault windows shaded across both charts.
func newChart(h *history.History) chart {
	c := chart{Width: 960, Left: 70, Right: 20, LaneH: 16}
	start, end := h.Meta.Start, h.Meta.End
	for i := range h.Events {
		e := &h.Events[i]
		if start.IsZero() || e.Start.Before(start) {
			start = e.Start
		}
		if e.End.After(end) {
			end = e.End
		}
	}
	for _, f := range h.Faults {
		if f.Healed.After(end) {
			end = f.Healed
		}
	}
	span := end.Sub(start)
	if span <= 0 {
		span = time.Second
	}
	plotW := float64(c.Width - c.Left - c.Right)
	x := func(t time.Time) float64 {
		return float64(c.Left) + plotW*float64(t.Sub(start))/float64(span)
	}
	c.LaneTop = 24
	c.TputTop = c.LaneTop + max(1, len(h.Faults))*c.LaneH + 16
	c.TputH = 120
	c.LatTop = c.TputTop + c.TputH + 36
	c.LatH = 120
	c.Height = c.LatTop + c.LatH + 30
	for i, f := range h.Faults {
		from := f.Started
		if from.IsZero() {
			from = start.Add(time.Duration(f.PlannedAt))
		}
		to := f.Healed
		if to.IsZero() {
			to = end
		}
		b := band{X: x(from), W: math.Max(2, x(to)-x(from)), Y: float64(c.LaneTop + i*c.LaneH),
			Label: f.Name, Failed: f.Error != "", FullTitle: fmt.Sprintf("%s: %s %s %s", f.Name, f.Type, f.Op, f.Target)}
		b.LabelX = b.X + 3
		c.Bands = append(c.Bands, b)
	}
	for i := 0; i <= 6; i++ {
		t := start.Add(span * time.Duration(i) / 6)
		c.Ticks = append(c.Ticks, tick{X: x(t), Label: (t.Sub(start)).Round(100 * time.Millisecond).String()})
	}
	// Buckets.
	const n = 60
	bucket := span / n
	if bucket <= 0 {
		bucket = time.Millisecond
	}
	first := map[string]time.Time{}
	for i := range h.Events {
		e := &h.Events[i]
		if e.Kind == history.KindPublish {
			if t, ok := first[e.MessageID]; !ok || e.Start.Before(t) {
				first[e.MessageID] = e.Start
			}
		}
	}
	counts := make([]float64, n)
	lat := make([][]float64, n)
	for i := range h.Events {
		e := &h.Events[i]
		if e.Kind != history.KindProcess {
			continue
		}
		k := int(e.End.Sub(start) / bucket)
		k = min(max(k, 0), n-1)
		counts[k]++
		if p, ok := first[e.MessageID]; ok {
			lat[k] = append(lat[k], float64(e.End.Sub(p))/float64(time.Millisecond))
		}
		c.HasData = true
	}
	perSec := bucket.Seconds()
	tputMax, latMax := 1.0, 1.0
	rates := make([]float64, n)
	p50s, maxs := make([]float64, n), make([]float64, n)
	for k := range n {
		rates[k] = counts[k] / perSec
		tputMax = math.Max(tputMax, rates[k])
		if len(lat[k]) > 0 {
			slices.Sort(lat[k])
			p50s[k] = lat[k][len(lat[k])/2]
			maxs[k] = lat[k][len(lat[k])-1]
			latMax = math.Max(latMax, maxs[k])
		}
	}
	path := func(vals []float64, top, height int, vmax float64) string {
		var b strings.Builder
		for k, val := range vals {
			px := float64(c.Left) + plotW*(float64(k)+0.5)/n
			py := float64(top+height) - float64(height)*val/vmax
			cmd := "L"
			if k == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&b, "%s%.1f %.1f ", cmd, px, py)
		}
		return strings.TrimSpace(b.String())
	}
	c.Throughput = path(rates, c.TputTop, c.TputH, tputMax)
	c.LatP50 = path(p50s, c.LatTop, c.LatH, latMax)
	c.LatMax = path(maxs, c.LatTop, c.LatH, latMax)
	c.TputMax = fmt.Sprintf("%.0f/s", tputMax)
	c.LatMaxLabel = fmt.Sprintf("%.0f ms", latMax)
	return c
}

var page = template.Must(template.Must(template.New("report").Parse(idTemplate)).New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<title>tflab report: {{.Title}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
h1 { margin-bottom: 0.2em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
code, .mono { font-family: ui-monospace, monospace; font-size: 0.9em; }
.verdict { display: inline-block; padding: 0.3em 0.8em; border-radius: 4px; font-weight: bold; color: #fff; }
.verdict.pass { background: #2e7d32; } .verdict.fail { background: #c62828; } .verdict.inconclusive { background: #ef6c00; }
td.pass { color: #2e7d32; font-weight: bold; } td.fail { color: #c62828; font-weight: bold; }
td.inconclusive { color: #ef6c00; font-weight: bold; } td.skipped { color: #777; }
.muted { color: #666; }
svg text { font-size: 11px; fill: #333; }
.span-row { display: flex; align-items: center; gap: 0.5em; font-size: 0.85em; border-bottom: 1px solid #eee; }
.span-row .label { width: 24em; overflow: hidden; white-space: nowrap; text-overflow: ellipsis; }
.span-row .track { flex: 1; position: relative; height: 12px; background: #fafafa; }
.span-row .bar { height: 12px; background: #1565c0; }
.span-row .bar.kind-publish { background: #26a69a; }
.span-row.error .bar { background: #c62828; } .span-row.dedup-skip .bar, .span-row.duplicate .bar { background: #ef6c00; }
.span-row .took { width: 6em; text-align: right; color: #666; }
.mark { background: #ffebee; color: #c62828; border-radius: 3px; padding: 0 0.3em; margin-left: 0.3em; }
section.waterfall:target { outline: 2px solid #1565c0; outline-offset: 4px; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p>{{.Description}}</p>
<p class="muted">seed {{.Seed}} · unprotected: {{.Unprotected}} · started {{.Start}} · ran {{.Duration}}</p>
<p><span class="verdict {{.Class}}">{{.Verdict.Outcome}} (exit {{.Verdict.ExitCode}})</span> {{.Verdict.Reason}}</p>

<h2>Steady state</h2>
{{if .Probes}}<table>
<tr><th>phase</th><th>probe</th><th>result</th><th>detail</th><th>took</th></tr>
{{range .Probes}}<tr><td>{{.Phase}}</td><td>{{.Name}}</td><td class="{{.Class}}">{{.Result}}</td><td>{{.Detail}}</td><td>{{.Took}}</td></tr>
{{end}}</table>{{else}}<p>The run recorded no steady-state probe.</p>{{end}}

<h2>Invariants</h2>
<table>
<tr><th>invariant</th><th>result</th><th>evidence</th><th>example trace id</th></tr>
{{range .Rows}}<tr><td title="{{.Guarantee}}">{{.ID}} {{.Name}}</td><td class="{{.Class}}">{{.Result}}</td><td>{{.Evidence}}</td><td class="mono">{{template "id" .Trace}}</td></tr>
{{end}}</table>

<h2>Fault efficacy</h2>
{{if .Efficacy}}<table>
<tr><th>requirement</th><th>observed</th><th>met</th></tr>
{{range .Efficacy}}<tr><td class="mono">{{.Requirement}}</td><td>{{if .Present}}{{.Observed}}{{else}}not recorded{{end}}</td><td class="{{if .Met}}pass{{else}}inconclusive{{end}}">{{if .Met}}yes{{else}}no{{end}}</td></tr>
{{end}}</table>{{else}}<p>The scenario declares no evidence: nothing shows that its fault took effect.</p>{{end}}

<h2>Timeline</h2>
<svg width="{{.Chart.Width}}" height="{{.Chart.Height}}" viewBox="0 0 {{.Chart.Width}} {{.Chart.Height}}" role="img" aria-label="faults against throughput and latency">
<text x="4" y="{{.Chart.LaneTop}}" dy="11">faults</text>
{{range .Chart.Bands}}<rect x="{{printf "%.1f" .X}}" y="{{printf "%.1f" .Y}}" width="{{printf "%.1f" .W}}" height="13" fill="{{if .Failed}}#9e9e9e{{else}}#e53935{{end}}" opacity="0.8"><title>{{.FullTitle}}</title></rect>
<text x="{{printf "%.1f" .LabelX}}" y="{{printf "%.1f" .Y}}" dy="10" style="fill:#fff">{{.Label}}</text>
<rect x="{{printf "%.1f" .X}}" y="{{$.Chart.TputTop}}" width="{{printf "%.1f" .W}}" height="{{$.Chart.TputH}}" fill="#e53935" opacity="0.08"/>
<rect x="{{printf "%.1f" .X}}" y="{{$.Chart.LatTop}}" width="{{printf "%.1f" .W}}" height="{{$.Chart.LatH}}" fill="#e53935" opacity="0.08"/>
{{end}}<text x="4" y="{{.Chart.TputTop}}" dy="11">handled/s</text>
<text x="4" y="{{.Chart.TputTop}}" dy="26" class="muted">max {{.Chart.TputMax}}</text>
<rect x="{{.Chart.Left}}" y="{{.Chart.TputTop}}" width="{{.Chart.PlotWidth}}" height="{{.Chart.TputH}}" fill="none" stroke="#bbb"/>
{{if .Chart.HasData}}<path d="{{.Chart.Throughput}}" fill="none" stroke="#1565c0" stroke-width="1.5"/>{{end}}
<text x="4" y="{{.Chart.LatTop}}" dy="11">latency</text>
<text x="4" y="{{.Chart.LatTop}}" dy="26">max {{.Chart.LatMaxLabel}}</text>
<rect x="{{.Chart.Left}}" y="{{.Chart.LatTop}}" width="{{.Chart.PlotWidth}}" height="{{.Chart.LatH}}" fill="none" stroke="#bbb"/>
{{if .Chart.HasData}}<path d="{{.Chart.LatMax}}" fill="none" stroke="#6a1b9a" stroke-width="1.5"><title>max publish-to-handled latency</title></path>
<path d="{{.Chart.LatP50}}" fill="none" stroke="#26a69a" stroke-width="1.5"><title>median publish-to-handled latency</title></path>{{end}}
{{range .Chart.Ticks}}<text x="{{printf "%.1f" .X}}" y="{{$.Chart.Height}}" dy="-8" text-anchor="middle">{{.Label}}</text>
{{end}}</svg>
<p class="muted">Red lanes: faults (grey: injection failed). Blue: deliveries handled per second. Purple/teal: max/median publish-to-handled latency of the messages handled in each slice.</p>

{{if .Faults}}<table>
<tr><th>fault</th><th>type</th><th>target</th><th>parameters</th><th>planned</th><th>started</th><th>healed</th><th>error</th></tr>
{{range .Faults}}<tr><td>{{.Name}}</td><td>{{.Type}}</td><td>{{.Target}}</td><td class="mono">{{.Params}}</td><td>{{.Planned}}</td><td>{{.Started}}</td><td>{{.Healed}}</td><td>{{.Error}}</td></tr>
{{end}}</table>{{end}}

<h2>Violations</h2>
{{if not .Violations}}<p>None.</p>{{end}}
{{range .Violations}}<h3>{{.ID}} {{.Name}}{{if .Expected}} (expected: negative control){{end}}</h3>
<p class="muted">{{.Guarantee}}</p>
<table>
<tr><th>category</th><th>subject</th><th>detail</th><th>message ids</th><th>trace ids</th></tr>
{{range .Violations}}<tr class="violation"><td>{{.Category}}</td><td class="mono">{{.Subject}}</td><td>{{.Detail}}</td><td class="mono">{{range .Messages}}{{template "id" .}}<br/>{{end}}</td><td class="mono">{{range .Traces}}{{template "id" .}}<br/>{{end}}</td></tr>
{{end}}</table>
{{if .More}}<p>… and {{.More}} more (see journal.json).</p>{{end}}
{{end}}
{{if .Waterfalls}}<h2>Traces of the violations</h2>
<p class="muted">Every span of each trace, placed by start and length over the trace's duration. Marks: redelivered, duplicate (a service handled the message again), dedup-skip, error.</p>
{{range .Waterfalls}}<section class="waterfall" id="trace-{{.TraceID}}">
<h3 class="mono">trace {{.TraceID}} <span class="muted">{{len .Spans}} spans over {{.Took}}</span></h3>
{{range .Spans}}<div class="span-row{{range .Marks}} {{.}}{{end}}"><div class="label"><strong>{{.Service}}</strong> {{.Kind}} {{.MessageType}} <span class="muted">{{.Name}}</span>{{range .Marks}} <span class="mark">{{.}}</span>{{end}}</div><div class="track"><div class="bar kind-{{.Kind}}" style="margin-left: {{.Offset}}; width: {{.Width}}" title="{{.Took}} message {{.MessageID}}"></div></div><div class="took">{{.Took}}</div></div>
{{end}}{{if .More}}<p>… and {{.More}} more spans.</p>{{end}}
</section>
{{end}}{{end}}

<h2>Counts</h2>
<table>
<tr>{{range .Counts}}<th>{{or .Label .Name}}</th>{{end}}</tr>
<tr>{{range .Counts}}<td>{{.N}}</td>{{end}}</tr>
</table>
<table>
<tr><th>counter</th><th>value</th></tr>
{{range .Counters}}<tr><td class="mono">{{.Name}}</td><td>{{.Value}}</td></tr>
{{end}}</table>
</body>
</html>
`))

// idTemplate renders an id linked to its in-report waterfall, plus a link
// to the console when the run names one.
const idTemplate = `{{define "id"}}{{if .Anchor}}<a href="{{.Anchor}}">{{.ID}}</a>{{else}}{{.ID}}{{end}}{{if .Console}} <a href="{{.Console}}" title="follow it in the console">↗</a>{{end}}{{end}}`

// PlotWidth is the width of the plot area.
func (c chart) PlotWidth() int { return c.Width - c.Left - c.Right }

package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/run"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
)

// spanRow is one bar of the waterfall.
type spanRow struct {
	history.Event
	Offset, Length float64 // fractions of the waterfall's width
	Took           time.Duration
	Marks          []string // redelivered, duplicate, dedup-skip, error
	Faults         []string // the injected faults that acted on the span's service while it ran
}

type traceView struct {
	ID, Run  string
	Rows     []spanRow
	Traces   []string
	Span     time.Duration
	Error    string
	Searched string // the span folder read
}

// tracePage follows a message: every span of the traces that carry the id
// (a trace id, a message id, a correlation id or a business key such as an
// inquiry or ticket id) across services, as a waterfall; redeliveries,
// duplicate deliveries, dedup skips and the injected faults that acted on a
// span's service while it ran are marked.
func (c *Console) tracePage(w http.ResponseWriter, r *http.Request) {
	v := traceView{ID: strings.TrimSpace(r.URL.Query().Get("id")), Run: r.URL.Query().Get("run")}
	if v.ID != "" {
		c.follow(&v)
	}
	c.full(w, http.StatusOK, "trace", "Follow a message", v)
}

func (c *Console) follow(v *traceView) {
	dir := c.cfg.Info().RunDir
	if v.Run != "" {
		if v.Run != filepath.Base(v.Run) || strings.HasPrefix(v.Run, ".") {
			v.Error = "no such run"
			return
		}
		dir = filepath.Join(c.cfg.RunsRoot, v.Run)
	}
	v.Searched = lab.Layout{Dir: dir}.Traces()
	events, _, err := run.ReadSpans(v.Searched)
	if err != nil {
		v.Error = err.Error()
		return
	}
	traces := map[history.TraceID]bool{}
	for _, e := range events {
		if e.TraceID.String() == v.ID || e.MessageID == v.ID || e.CorrelationID == v.ID || e.AggregateID == v.ID {
			traces[e.TraceID] = true
		}
	}
	var sel []history.Event
	for _, e := range events {
		if traces[e.TraceID] {
			sel = append(sel, e)
		}
	}
	if len(sel) == 0 {
		v.Error = fmt.Sprintf("no span carries %q (as trace, message, correlation or aggregate id) in %s", v.ID, v.Searched)
		return
	}
	slices.SortStableFunc(sel, func(a, b history.Event) int { return a.Start.Compare(b.Start) })
	start, end := sel[0].Start, sel[0].End
	for _, e := range sel {
		if e.End.After(end) {
			end = e.End
		}
	}
	total := end.Sub(start)
	if total <= 0 {
		total = time.Microsecond
	}
	v.Span = total
	for t := range traces {
		v.Traces = append(v.Traces, t.String())
	}
	slices.Sort(v.Traces)
	faults := faultsIn(dir)
	handled := map[string]int{}
	for _, e := range sel {
		row := spanRow{Event: e, Took: e.End.Sub(e.Start),
			Offset: float64(e.Start.Sub(start)) / float64(total), Length: float64(e.End.Sub(e.Start)) / float64(total)}
		if e.Redelivered || e.Attempt > 1 {
			row.Marks = append(row.Marks, "redelivered")
		}
		if e.Kind == history.KindProcess && e.MessageID != "" {
			k := e.Service + "\x00" + e.MessageID
			handled[k]++
			if handled[k] > 1 {
				row.Marks = append(row.Marks, "duplicate")
			}
		}
		if e.Dedup == history.DedupDuplicate {
			row.Marks = append(row.Marks, "dedup-skip")
		}
		if e.Error != "" {
			row.Marks = append(row.Marks, "error")
		}
		for _, f := range faults {
			if touched(f, e) {
				row.Faults = append(row.Faults, f.Name+" "+f.Op)
			}
		}
		v.Rows = append(v.Rows, row)
	}
}

// faultsIn reads the faults applied in a run directory: a scenario run's
// history.json, else the faults injected from the console (FaultsFile).
func faultsIn(dir string) []history.Fault {
	if h, err := history.LoadHeader(dir); err == nil {
		return h.Faults
	}
	b, err := os.ReadFile(filepath.Join(lab.Layout{Dir: dir}.Logs(), FaultsFile))
	if err != nil {
		return nil
	}
	byName := map[string]history.Fault{} // the last record of each fault (injected, then healed)
	var order []string
	for line := range strings.SplitSeq(string(b), "\n") {
		var f history.Fault
		if json.Unmarshal([]byte(line), &f) != nil || f.Name == "" {
			continue
		}
		if _, ok := byName[f.Name]; !ok {
			order = append(order, f.Name)
		}
		byName[f.Name] = f
	}
	out := make([]history.Fault, 0, len(order))
	for _, n := range order {
		out = append(out, byName[n])
	}
	return out
}

// touched reports whether fault f acted on span e: it was in effect while
// the span ran, on the span's service (a partition names its services
// joined by "+"), or on the broker every service talks to.
func touched(f history.Fault, e history.Event) bool {
	if f.Started.IsZero() || f.Error != "" || e.End.Before(f.Started) || (!f.Healed.IsZero() && e.Start.After(f.Healed)) {
		return false
	}
	switch f.Type {
	case spec.TypeBroker, spec.TypeCluster:
		return true
	case spec.TypePartition:
		return slices.Contains(strings.Split(f.Target, "+"), e.Service)
	}
	return f.Target != "" && (f.Target == e.Service || f.Target == e.Instance)
}

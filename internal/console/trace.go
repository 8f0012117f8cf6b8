package console

import (
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/run"
)

// spanRow is one bar of the waterfall.
type spanRow struct {
	history.Event
	Offset, Length float64 // fractions of the waterfall's width
	Took           time.Duration
	Marks          []string // redelivered, duplicate, dedup-skip, error
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
// (a trace id, a message id or a correlation id) across services, as a
// waterfall; redeliveries, duplicate deliveries and dedup skips are marked.
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
		if e.TraceID.String() == v.ID || e.MessageID == v.ID || e.CorrelationID == v.ID {
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
		v.Error = fmt.Sprintf("no span carries %q (as trace, message or correlation id) in %s", v.ID, v.Searched)
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
		v.Rows = append(v.Rows, row)
	}
}

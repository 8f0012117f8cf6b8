package report

import (
	"bytes"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/history"
)

// MaxWaterfalls caps the traces report.html draws a waterfall of: the
// traces of the violations shown, in the order they are listed.
const MaxWaterfalls = 20

// maxWaterfallSpans caps the spans drawn in one waterfall.
const maxWaterfallSpans = 100

// ConsoleTraceURL is the console's follow-a-message page for a run's spans,
// up to the id (Run.ConsoleTrace): base is the console's URL, runName the
// run directory's name.
func ConsoleTraceURL(base, runName string) string {
	return base + "/trace?run=" + url.QueryEscape(runName) + "&id="
}

// waterfall is one trace drawn in the report: its spans as bars placed by
// start and length over the trace's duration.
type waterfall struct {
	TraceID string
	Took    string
	Spans   []waterfallSpan
	More    int // spans left out beyond maxWaterfallSpans
}

type waterfallSpan struct {
	Service, Kind, MessageType, MessageID, Name string
	Offset, Width                               string // CSS percentages
	Took                                        string
	Marks                                       []string // redelivered, duplicate, dedup-skip, error
}

// idLink is an id in the violations table with where it links to: the
// in-report waterfall (Anchor) and the console (Console), either "".
type idLink struct {
	ID, Anchor, Console string
}

// waterfalls draws the traces of ids (in order, the first MaxWaterfalls
// that have spans in h.Events).
func waterfalls(h *history.History, ids []string) []waterfall {
	want := map[history.TraceID]int{}
	var order []history.TraceID
	for _, id := range ids {
		tid, err := history.ParseTraceID(id)
		if err != nil || tid.IsZero() {
			continue
		}
		if _, ok := want[tid]; !ok {
			want[tid] = len(order)
			order = append(order, tid)
		}
	}
	spans := make([][]history.Event, len(order))
	for i := range h.Events {
		e := &h.Events[i]
		if k, ok := want[e.TraceID]; ok {
			spans[k] = append(spans[k], *e)
		}
	}
	var out []waterfall
	for k, tid := range order {
		if len(out) == MaxWaterfalls {
			break
		}
		if len(spans[k]) == 0 {
			continue
		}
		out = append(out, drawWaterfall(tid.String(), spans[k]))
	}
	return out
}

func drawWaterfall(id string, es []history.Event) waterfall {
	slices.SortStableFunc(es, func(a, b history.Event) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return bytes.Compare(a.SpanID[:], b.SpanID[:])
	})
	start, end := es[0].Start, es[0].End
	for _, e := range es {
		if e.End.After(end) {
			end = e.End
		}
	}
	total := end.Sub(start)
	if total <= 0 {
		total = time.Microsecond
	}
	w := waterfall{TraceID: id, Took: ms(total)}
	handled := map[string]int{}
	for i, e := range es {
		var marks []string
		if e.Redelivered || e.Attempt > 1 {
			marks = append(marks, "redelivered")
		}
		if e.Kind == history.KindProcess && e.MessageID != "" {
			k := e.Service + "\x00" + e.MessageID
			handled[k]++
			if handled[k] > 1 {
				marks = append(marks, "duplicate")
			}
		}
		if e.Dedup == history.DedupDuplicate {
			marks = append(marks, "dedup-skip")
		}
		if e.Error != "" {
			marks = append(marks, "error")
		}
		if i >= maxWaterfallSpans {
			w.More++
			continue
		}
		w.Spans = append(w.Spans, waterfallSpan{Service: e.Service, Kind: e.Kind, MessageType: e.MessageType,
			MessageID: e.MessageID, Name: e.Name, Took: ms(e.End.Sub(e.Start)), Marks: marks,
			Offset: pct(float64(e.Start.Sub(start)) / float64(total)), Width: pct(max(float64(e.End.Sub(e.Start))/float64(total), 0.002))})
	}
	return w
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func pct(f float64) string { return fmt.Sprintf("%.2f%%", f*100) }

package console

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/run"
)

// The Live page: throughput, latency and queue-depth charts with the
// console's faults as bands (uPlot, fed by the Server-Sent Events of
// /live/stream), and the invariant board (/live/board): the system's
// invariants judged by the same evaluation as `tflab verify` on the
// lab's history so far, the spans tailed from the lab's traces directory.

const (
	// liveWindow is how far back the charts reach.
	liveWindow = 5 * time.Minute
	// liveEvery is how often the stream sends the series.
	liveEvery = time.Second
	// boardEvery bounds how often the board judges the history again.
	boardEvery = 2 * time.Second
	// depthEvery bounds how often the management API is asked for depths.
	depthEvery = time.Second
)

// depthSample is the broker's queue depths at one moment.
type depthSample struct {
	At             time.Time
	Ready, Unacked int
}

// liveState is the lab's history as far as the console has read it, the
// queue-depth samples taken so far, and the board's last judgement.
type liveState struct {
	mu       sync.Mutex
	dir      string // the traces directory tailed
	tail     *run.SpanTail
	events   []history.Event
	depths   []depthSample
	depthAt  time.Time
	depthErr string
	// holdings is what the broker held at the last sample (nil: not read),
	// so the board can tell stuck from lost.
	holdings   *history.Holdings
	holdingsAt time.Time

	judged    int // len(events) at the last judgement
	judgedAt  time.Time
	judgeTook time.Duration // how long the last judgement took
	verdict   *check.Verdict

	firstPub map[string]time.Time // each message id's first publish start
	handled  []handling           // every handling read, in reading order
}

// handling is one process span as the charts need it.
type handling struct {
	End       time.Time
	MessageID string
}

// live returns the lab's live state, created on first use for the lab's
// current run directory.
func (c *Console) live() *liveState {
	dir := ""
	if rd := c.cfg.Info().RunDir; rd != "" {
		dir = lab.Layout{Dir: rd}.Traces()
	}
	c.liveMu.Lock()
	defer c.liveMu.Unlock()
	if c.liveSt == nil || c.liveSt.dir != dir {
		c.liveSt = &liveState{dir: dir, tail: run.NewSpanTail(dir)}
	}
	return c.liveSt
}

// read takes the spans appended since the last read. The caller holds mu.
func (l *liveState) read() error {
	if l.dir == "" {
		return nil
	}
	if l.firstPub == nil {
		l.firstPub = map[string]time.Time{}
	}
	return l.tail.Read(func(e history.Event) bool {
		l.events = append(l.events, e)
		switch {
		case e.Kind == history.KindPublish && e.MessageID != "":
			if t, ok := l.firstPub[e.MessageID]; !ok || e.Start.Before(t) {
				l.firstPub[e.MessageID] = e.Start
			}
		case e.Kind == history.KindProcess:
			l.handled = append(l.handled, handling{End: e.End, MessageID: e.MessageID})
		}
		return true
	})
}

// sampleDepths asks the management API for the queue depths, at most once
// per depthEvery; samples older than the window are dropped. The caller
// holds mu.
func (l *liveState) sampleDepths(ctx context.Context, c *Console, now time.Time) {
	m := c.cfg.Management
	if m == nil || now.Sub(l.depthAt) < depthEvery {
		return
	}
	l.depthAt = now
	qctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	qs, err := m.Queues(qctx)
	if err != nil {
		l.depthErr = redact(err.Error(), m.Password)
		return
	}
	l.depthErr = ""
	s := depthSample{At: now}
	for _, q := range qs {
		s.Ready += q.Ready
		s.Unacked += q.Unacked
	}
	l.depths = append(l.depths, s)
	i := 0
	for i < len(l.depths) && now.Sub(l.depths[i].At) > liveWindow {
		i++
	}
	l.depths = l.depths[i:]
}

// sampleLive reads new spans and samples the queue depths every
// depthEvery until the console closes, so that the Live page opens on a
// full window.
func (c *Console) sampleLive() {
	tick := time.NewTicker(depthEvery)
	defer tick.Stop()
	for {
		select {
		case <-c.closing.Done():
			return
		case now := <-tick.C:
			l := c.live()
			l.mu.Lock()
			if err := l.read(); err != nil {
				c.log.Debug("Reading the span files", "err", err)
			}
			l.sampleDepths(c.closing, c, now)
			due := c.cfg.Management != nil && now.Sub(l.holdingsAt) >= holdingsEvery
			if due {
				l.holdingsAt = now
			}
			l.mu.Unlock()
			if due { // polls for a while: outside the lock
				hd := c.readHoldings()
				l.mu.Lock()
				l.holdings = hd
				l.mu.Unlock()
			}
		}
	}
}

// holdingsEvery paces the board's reading of the broker's holdings.
const holdingsEvery = 5 * time.Second

// readHoldings reads what the broker holds for the lab's system now.
func (c *Console) readHoldings() *history.Holdings {
	ctx, cancel := context.WithTimeout(c.closing, 15*time.Second)
	defer cancel()
	return run.ReadHoldings(ctx, c.cfg.Management, c.cfg.Info().Broker.AMQP, c.cfg.InspectionQueues, c.cfg.Vocabulary.Services)
}

// liveBand is one fault as a band on the charts: unix seconds, To 0 while
// it is active.
type liveBand struct {
	Label  string  `json:"label"`
	From   float64 `json:"from"`
	To     float64 `json:"to,omitempty"`
	Failed bool    `json:"failed,omitempty"`
}

// liveSeries is one message of the stream: the charts' data over the
// window, aligned as uPlot takes it (x in unix seconds; null where a
// second had no handling).
type liveSeries struct {
	Now     float64    `json:"now"`
	X       []float64  `json:"x"`
	Handled []float64  `json:"handled"`
	P50     []*float64 `json:"p50"`
	Max     []*float64 `json:"max"`
	DepthX  []float64  `json:"depthX"`
	Ready   []float64  `json:"ready"`
	Unacked []float64  `json:"unacked"`
	Bands   []liveBand `json:"bands"`
	Spans   int        `json:"spans"`
	Error   string     `json:"error,omitempty"`
}

// series reads new spans and depths and builds the charts' data for the
// window ending at now: handlings per second by completion time, and the
// median and maximum publish-to-handled latency (ms) of each second's
// handlings.
func (c *Console) series(ctx context.Context, now time.Time) liveSeries {
	l := c.live()
	l.mu.Lock()
	defer l.mu.Unlock()
	out := liveSeries{Now: unix(now)}
	if err := l.read(); err != nil {
		out.Error = "reading the span files: " + err.Error()
	}
	l.sampleDepths(ctx, c, now)
	if l.depthErr != "" {
		out.Error = "queue depths: " + l.depthErr
	}
	out.Spans = len(l.events)
	from := now.Add(-liveWindow).Truncate(time.Second)
	n := int(now.Sub(from)/time.Second) + 1
	counts := make([]float64, n)
	lats := make([][]float64, n)
	for _, e := range l.handled {
		if e.End.Before(from) || e.End.After(now) {
			continue
		}
		k := int(e.End.Sub(from) / time.Second)
		if k < 0 || k >= n {
			continue
		}
		counts[k]++
		if p, ok := l.firstPub[e.MessageID]; ok && !e.End.Before(p) {
			lats[k] = append(lats[k], float64(e.End.Sub(p))/float64(time.Millisecond))
		}
	}
	for k := range n {
		out.X = append(out.X, unix(from.Add(time.Duration(k)*time.Second)))
		out.Handled = append(out.Handled, counts[k])
		var p50, mx *float64
		if ls := lats[k]; len(ls) > 0 {
			slices.Sort(ls)
			a, b := ls[len(ls)/2], ls[len(ls)-1]
			p50, mx = &a, &b
		}
		out.P50 = append(out.P50, p50)
		out.Max = append(out.Max, mx)
	}
	for _, s := range l.depths {
		out.DepthX = append(out.DepthX, unix(s.At))
		out.Ready = append(out.Ready, float64(s.Ready))
		out.Unacked = append(out.Unacked, float64(s.Unacked))
	}
	for _, f := range c.reg.faults() {
		if !f.Healed.IsZero() && f.Healed.Before(from) {
			continue
		}
		b := liveBand{Label: f.Name + " " + f.Op + " " + f.Target, From: unix(f.Started), Failed: f.Error != ""}
		if !f.Healed.IsZero() {
			b.To = unix(f.Healed)
		}
		out.Bands = append(out.Bands, b)
	}
	return out
}

func unix(t time.Time) float64 { return math.Round(float64(t.UnixMilli())) / 1000 }

// livePage serves the Live page: the charts and the board.
func (c *Console) livePage(w http.ResponseWriter, r *http.Request) {
	c.full(w, http.StatusOK, "live", "Live", c.board(r.Context(), time.Now()))
}

// liveStream sends the charts' data as Server-Sent Events ("series"), once
// right away and then every liveEvery, until the browser goes or the
// console closes.
func (c *Console) liveStream(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	tick := time.NewTicker(liveEvery)
	defer tick.Stop()
	for {
		b, err := json.Marshal(c.series(r.Context(), time.Now()))
		if err != nil {
			c.log.Error("Live series", "err", err)
			return
		}
		if _, err := fmt.Fprintf(w, "event: series\ndata: %s\n\n", b); err != nil {
			return
		}
		fl.Flush()
		select {
		case <-r.Context().Done():
			return
		case <-c.closing.Done():
			return
		case <-tick.C:
		}
	}
}

// boardRow is one invariant on the board.
type boardRow struct {
	ID, Name, Guarantee, Reason string
	Status                      check.Status
	Class                       string // ok, bad, undecided, skipped
	Findings                    int
	Latest                      *check.Violation // the last finding the checker listed
}

// boardCount is the number of findings of some categories so far.
type boardCount struct {
	Label string
	N     int
	Note  string // why the count is not known ("" when it is)
}

type boardView struct {
	Rows    []boardRow
	Counts  []boardCount
	Outcome check.Outcome
	Spans   int
	At      time.Time
	Error   string
}

// boardCategories are the board's tallies: lost so far, stuck, duplicated
// effects, out of order.
var boardCategories = []struct {
	Label string
	Of    []check.Category
}{
	{"lost so far", []check.Category{check.Lost}},
	{"stuck", []check.Category{check.Stuck, check.PossiblyStuck}},
	{"duplicated effects", []check.Category{check.DuplicatedEffect}},
	{"out of order", []check.Category{check.OutOfOrder, check.OutOfOrderRedelivered}},
}

// liveHistory is the history the board judges: the lab's spans so far,
// with the header `tflab verify` gives a run directory of spans alone.
func liveHistory(system string, events []history.Event) *history.History {
	return &history.History{Meta: history.Meta{SchemaVersion: history.SchemaVersion, Scenario: "(spans only)", System: system},
		Events: events}
}

// judge reads new spans and judges the history again when spans arrived
// since the last judgement and boardEvery (or, on a long history, four
// times the last judgement's duration) has passed.
func (c *Console) judge(now time.Time) (check.Verdict, int, error) {
	l := c.live()
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.read()
	if l.verdict == nil || (len(l.events) != l.judged && now.Sub(l.judgedAt) >= max(boardEvery, 4*l.judgeTook)) {
		evaluate := c.cfg.Evaluate
		if evaluate == nil {
			evaluate = func(h *history.History) check.Verdict { return check.Evaluate(h, c.cfg.Vocabulary.Invariants...) }
		}
		t0 := time.Now()
		h := liveHistory(c.cfg.Vocabulary.System, slices.Clone(l.events)) // Evaluate sorts its events
		h.Snapshot.Holdings = l.holdings
		v := evaluate(h)
		l.verdict, l.judged, l.judgedAt, l.judgeTook = &v, len(l.events), now, time.Since(t0)
	}
	return *l.verdict, l.judged, err
}

// board judges the live history and shapes it for the page.
func (c *Console) board(_ context.Context, now time.Time) boardView {
	v, n, err := c.judge(now)
	bv := boardView{Outcome: v.Outcome, Spans: n, At: now}
	if err != nil {
		bv.Error = "reading the span files: " + err.Error()
	}
	counts := make([]int, len(boardCategories))
	for _, r := range v.Results {
		row := boardRow{ID: r.ID, Name: r.Name, Guarantee: r.Guarantee, Reason: r.Reason, Status: r.Status,
			Findings: len(r.Violations)}
		switch r.Status {
		case check.Pass:
			row.Class = "ok"
		case check.Violated:
			row.Class = "bad"
		case check.Skipped:
			row.Class = "skipped"
		default:
			row.Class = "undecided"
		}
		if len(r.Violations) > 0 {
			last := r.Violations[len(r.Violations)-1]
			row.Latest = &last
		}
		for _, viol := range r.Violations {
			for i, bc := range boardCategories {
				if slices.Contains(bc.Of, viol.Category) {
					counts[i]++
				}
			}
		}
		bv.Rows = append(bv.Rows, row)
	}
	for i, bc := range boardCategories {
		cnt := boardCount{Label: bc.Label, N: counts[i]}
		// Stuck needs the broker's holdings, which the live history lacks
		// before the first sample or without a management API,
		// until TF10 (Quiescence) can judge them.
		if slices.Contains(bc.Of, check.Stuck) {
			if q, ok := v.Result("TF10"); ok && q.Status == check.Inconclusive {
				cnt.Note = q.Reason
			}
		}
		bv.Counts = append(bv.Counts, cnt)
	}
	return bv
}

// liveBoard serves the board as a fragment (htmx polls it).
func (c *Console) liveBoard(w http.ResponseWriter, r *http.Request) {
	c.render(w, http.StatusOK, "board", c.board(r.Context(), time.Now()))
}

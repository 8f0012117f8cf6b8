package metrics

import (
	"cmp"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/ticketflow-lab/tflab/system/runtime/clock"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

// History is how many ticks per service the aggregator keeps (the desk
// widget keeps the last 20 points).
const History = 20

// Aggregator keeps the recent ticks of every service instance and fans new
// ticks out to subscribers (the /live-metrics streams). Safe for concurrent use.
type Aggregator struct {
	clk        clock.Clock
	staleAfter time.Duration
	mu         sync.Mutex
	series     map[string][]contracts.MetricTick // key: name/instance
	subs       map[chan contracts.MetricTick]struct{}
}

// NewAggregator returns an aggregator; a service whose last tick is older
// than staleAfter is reported Unknown (the original UI showed grey).
func NewAggregator(clk clock.Clock, staleAfter time.Duration) *Aggregator {
	return &Aggregator{clk: clock.Or(clk), staleAfter: staleAfter, series: map[string][]contracts.MetricTick{}, subs: map[chan contracts.MetricTick]struct{}{}}
}

func seriesKey(t contracts.MetricTick) string { return t.Name + "/" + t.Instance }

// Add records a tick and offers it to every subscriber. A subscriber whose
// buffer is full loses the tick (a slow browser must not stall the consumer).
func (a *Aggregator) Add(t contracts.MetricTick) {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := seriesKey(t)
	s := append(a.series[k], t)
	if len(s) > History {
		s = s[len(s)-History:]
	}
	a.series[k] = s
	for ch := range a.subs {
		select {
		case ch <- t:
		default:
		}
	}
}

// Latest returns the newest tick of every instance, sorted by name then
// instance; stale ones get status Unknown.
func (a *Aggregator) Latest() []contracts.MetricTick {
	now := a.clk.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]contracts.MetricTick, 0, len(a.series))
	for _, s := range a.series {
		t := s[len(s)-1]
		if a.staleAfter > 0 && now.Sub(t.LastChecked) > a.staleAfter {
			t.Status = contracts.HealthUnknown
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(x, y contracts.MetricTick) int {
		return cmp.Or(cmp.Compare(x.Name, y.Name), cmp.Compare(x.Instance, y.Instance))
	})
	return out
}

// Series returns the kept ticks of one instance, oldest first.
func (a *Aggregator) Series(name, instance string) []contracts.MetricTick {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.series[name+"/"+instance])
}

// Subscribe returns a channel of new ticks (buffer n) and a cancel function
// that must be called once.
func (a *Aggregator) Subscribe(n int) (<-chan contracts.MetricTick, func()) {
	ch := make(chan contracts.MetricTick, max(n, 1))
	a.mu.Lock()
	a.subs[ch] = struct{}{}
	a.mu.Unlock()
	return ch, func() {
		a.mu.Lock()
		delete(a.subs, ch)
		a.mu.Unlock()
	}
}

// Subscribers reports the number of open subscriptions (the original pulled
// from the queue only while a client was connected).
func (a *Aggregator) Subscribers() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.subs)
}

// SSEEvent is the event name of every tick on /live-metrics, as the
// original SignalR method.
const SSEEvent = "MetricTick"

// LiveHandler serves GET /live-metrics as Server-Sent Events: on connect the
// latest tick of every instance, then every new tick, each as
// "event: MetricTick" with the tick's JSON; a comment line every keepAlive
// (on the real clock) keeps proxies from closing an idle stream.
func LiveHandler(a *Aggregator, keepAlive time.Duration, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fl, ok := w.(http.Flusher)
		if !ok {
			http.Error(w, "streaming unsupported", http.StatusInternalServerError)
			return
		}
		ch, cancel := a.Subscribe(64)
		defer cancel()
		h := w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		h.Set("Connection", "keep-alive")
		w.WriteHeader(http.StatusOK)
		for _, t := range a.Latest() {
			if err := writeEvent(w, t); err != nil {
				return
			}
		}
		fl.Flush()
		var keep <-chan time.Time
		if keepAlive > 0 {
			tk := time.NewTicker(keepAlive)
			defer tk.Stop()
			keep = tk.C
		}
		for {
			select {
			case <-r.Context().Done():
				return
			case t := <-ch:
				if err := writeEvent(w, t); err != nil {
					log.Debug("Live metrics client gone", "err", err)
					return
				}
				fl.Flush()
			case <-keep:
				if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
					return
				}
				fl.Flush()
			}
		}
	})
}

func writeEvent(w http.ResponseWriter, t contracts.MetricTick) error {
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", SSEEvent, b)
	return err
}

package run

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ticketflow-lab/tflab/anomalies"
	"github.com/ticketflow-lab/tflab/system/messaging"
)

// RunnerConnection is the connection_name of the runner's own AMQP
// connection; the watcher never counts it.
const RunnerConnection = "tflab-runner"

// watcher polls the broker's management API during the run for the runner
// counters only the broker can tell: connections the services (re)opened and
// the deepest queue; and, for the holdings, since when each queue has had
// unacked deliveries. Polls that fail (the broker application is stopped)
// are skipped.
type watcher struct {
	m     *anomalies.Management
	every time.Duration
	log   *slog.Logger
	// sinks are the system's inspection queues (Config.InspectionQueues).
	sinks []string

	mu       sync.Mutex
	opened   map[string]opened // connection name → when and by whom
	maxReady int
	polls    int
	// unacked maps a queue to the first poll that saw it with unacked
	// deliveries, since no poll saw it without.
	unacked map[string]time.Time
}

func newWatcher(m *anomalies.Management, every time.Duration, log *slog.Logger) *watcher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &watcher{m: m, every: every, log: log.With("component", "watcher"), opened: map[string]opened{}, unacked: map[string]time.Time{}}
}

// opened is one connection the watcher saw.
type opened struct {
	client string // connection_name the client announced
	at     time.Time
}

// run polls until ctx ends.
func (w *watcher) run(ctx context.Context) {
	if w.m == nil {
		return
	}
	tick := time.NewTicker(w.every)
	defer tick.Stop()
	for {
		w.poll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (w *watcher) poll(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conns, cerr := w.m.Connections(pctx)
	queues, qerr := w.m.Queues(pctx)
	if cerr != nil || qerr != nil {
		w.log.Debug("Broker poll failed", "connections_err", cerr, "queues_err", qerr)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.polls++
	if cerr == nil {
		w.observeLocked(conns)
	}
	if qerr == nil {
		w.observeQueuesLocked(queues, time.Now())
	}
}

func (w *watcher) observeQueuesLocked(queues []anomalies.Queue, at time.Time) {
	dlq := deadLetterQueues(queues, w.sinks)
	for _, q := range queues {
		if dlq[q.Name] {
			continue
		}
		w.maxReady = max(w.maxReady, q.Ready)
		switch _, ok := w.unacked[q.Name]; {
		case q.Unacked == 0:
			delete(w.unacked, q.Name)
		case !ok:
			w.unacked[q.Name] = at
		}
	}
}

// unackedSince returns, per queue, since when the polls have seen it with
// unacked deliveries (queues without any are absent).
func (w *watcher) unackedSince() map[string]time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.unacked)
}

// observe records connections listed outside the polls (the last read at
// the end of the run, lastConnections).
func (w *watcher) observe(conns []anomalies.Connection) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.observeLocked(conns)
}

func (w *watcher) observeLocked(conns []anomalies.Connection) {
	for _, c := range conns {
		if c.ClientName() == RunnerConnection || strings.HasPrefix(c.ClientName(), markerPrefix) {
			continue
		}
		if _, ok := w.opened[c.Name]; !ok {
			w.opened[c.Name] = opened{c.ClientName(), c.ConnectedAt()}
		}
	}
}

// counters returns connections.reopened and queue.depth.max. A reopened
// connection is one a service opened at or after since, when the first fault
// began (none without a fault): the services connect before the method
// starts (their health requires it), so a later connection is a reconnect
// or a restarted process. Nothing is returned when no poll ever answered.
func (w *watcher) counters(since time.Time) map[string]float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]float64{}
	if w.m == nil || w.polls == 0 {
		return out
	}
	reopened := 0
	if !since.IsZero() {
		for _, o := range w.opened {
			// connected_at has millisecond resolution.
			if !o.at.Before(since.Truncate(time.Millisecond)) {
				reopened++
			}
		}
	}
	out["connections.reopened"] = float64(reopened)
	out["queue.depth.max"] = float64(w.maxReady)
	return out
}

// deadLetterQueues marks the sinks kept for inspection, whose messages stay
// by design: the queues that are another listed queue's dead-letter queue
// (messaging names them; never spell the names here) and the queues the
// system declares as inspection sinks (sinks; Ticketflow's faults queue of
// publish-fault-on-failure). The queues-empty probe, the watcher and the
// holdings (TF10) leave them out.
func deadLetterQueues(queues []anomalies.Queue, sinks []string) map[string]bool {
	names := map[string]bool{}
	for _, q := range queues {
		names[q.Name] = true
	}
	out := map[string]bool{}
	for _, n := range sinks {
		if names[n] {
			out[n] = true
		}
	}
	for n := range names {
		if d := messaging.DeadLetterQueueName(n); names[d] {
			out[d] = true
		}
	}
	return out
}

// dlqOrigins maps each dead-letter queue to the queue it serves.
func dlqOrigins(queues []anomalies.Queue) map[string]string {
	names := map[string]bool{}
	for _, q := range queues {
		names[q.Name] = true
	}
	out := map[string]string{}
	for _, n := range slices.Sorted(maps.Keys(names)) {
		if d := messaging.DeadLetterQueueName(n); names[d] {
			out[d] = n
		}
	}
	return out
}

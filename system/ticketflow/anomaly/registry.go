package anomaly

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ticketflow-lab/tflab/system/runtime/clock"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

type key struct {
	typ     Type
	msgType string
}

// Registry holds the anomalies enabled on one service instance. It is safe
// for concurrent use; Check is cheap when nothing is enabled.
type Registry struct {
	log   *slog.Logger
	mu    sync.RWMutex
	items map[key]Anomaly
	fired map[key]int64
	// gone is closed when the anomaly under its key is disabled: the delays
	// it is holding end then.
	gone map[key]chan struct{}
}

// NewRegistry returns an empty registry. log nil discards.
func NewRegistry(log *slog.Logger) *Registry {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Registry{log: log.With("component", "anomaly"), items: map[key]Anomaly{}, fired: map[key]int64{}, gone: map[key]chan struct{}{}}
}

// Enable adds or updates an anomaly. It is idempotent per (type, message
// type); enabling again with other parameters replaces them (the original
// ignored the second enable, so a delay could only be changed by disabling
// first). changed is false when nothing differed.
func (r *Registry) Enable(a Anomaly) (changed bool, err error) {
	if !a.Type.Valid() {
		return false, &UnknownTypeError{Value: string(a.Type)}
	}
	if a.MessageType == "" {
		return false, &RequestError{"messageType", "is required"}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	k := key{a.Type, a.MessageType}
	if old, ok := r.items[k]; ok && old == a {
		return false, nil
	}
	r.items[k] = a
	if r.gone[k] == nil {
		r.gone[k] = make(chan struct{})
	}
	r.log.Info("Anomaly enabled", "anomaly", a.Type, "msg_type", a.MessageType, "params", a.Params.Map())
	return true, nil
}

// Disable removes the anomaly of type typ for msgType; removed is false when
// it was not enabled.
func (r *Registry) Disable(typ Type, msgType string) (removed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := key{typ, msgType}
	if _, ok := r.items[k]; !ok {
		return false
	}
	delete(r.items, k)
	if g := r.gone[k]; g != nil {
		close(g)
		delete(r.gone, k)
	}
	r.log.Info("Anomaly disabled", "anomaly", typ, "msg_type", msgType)
	return true
}

// List returns the enabled anomalies sorted by type order, then message type.
func (r *Registry) List() []Anomaly {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Anomaly, 0, len(r.items))
	for _, a := range r.items {
		out = append(out, a)
	}
	order := map[Type]int{}
	for i, t := range Types() {
		order[t] = i
	}
	slices.SortFunc(out, func(a, b Anomaly) int {
		return cmp.Or(cmp.Compare(order[a.Type], order[b.Type]), cmp.Compare(a.MessageType, b.MessageType))
	})
	return out
}

// Views renders List as GET /anomalies elements, with fire counts.
func (r *Registry) Views() []View {
	list := r.List()
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]View, 0, len(list))
	for _, a := range list {
		out = append(out, View{AnomalyType: string(a.Type), MessageType: a.MessageType, Params: a.Params.Map(), Fired: r.fired[key{a.Type, a.MessageType}]})
	}
	return out
}

// Fired returns how often the anomaly (typ, msgType) fired since start,
// including while it was disabled and re-enabled.
func (r *Registry) Fired(typ Type, msgType string) int64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.fired[key{typ, msgType}]
}

// Action is what a service must do at an injection point: wait Delay, then
// fail with Err when it is not nil. The zero Action does nothing.
type Action struct {
	Delay time.Duration
	Err   error
	// Fired lists the anomalies that produced this action.
	Fired []Anomaly
	// Released, when set, is closed when a delay anomaly of this action is
	// disabled: the delay ends then, early.
	Released <-chan struct{}
}

// None reports whether the action does nothing.
func (a Action) None() bool { return a.Delay == 0 && a.Err == nil }

// Apply performs the action: sleeps Delay on clk (delays before errors, as in
// the original) and returns Err. A cancelled ctx ends the delay early with
// ctx.Err(); disabling the delay anomaly (Released) ends it early too, and
// the handling goes on.
func (a Action) Apply(ctx context.Context, clk clock.Clock) error {
	if a.Delay > 0 {
		sctx, stop := ctx, func() {}
		if a.Released != nil {
			var cancel context.CancelFunc
			sctx, cancel = context.WithCancel(ctx)
			done := make(chan struct{})
			go func() {
				select {
				case <-a.Released:
					cancel()
				case <-done:
				}
			}()
			stop = func() { close(done); cancel() }
		}
		err := clock.Sleep(sctx, clock.Or(clk), a.Delay)
		stop()
		if err != nil && ctx.Err() != nil {
			return fmt.Errorf("anomaly delay: %w", err)
		}
	}
	return a.Err
}

// Check returns the action for a message of msgType at point p; status is
// the ticket status the message is about ("" when unknown).
//
//   - BeforeHandler/AfterHandler: msgType is the consumed type.
//   - WithinTransaction/AfterTransaction/OutboxSave/Publish: msgType is a
//     published type; call once per published message (or use CheckAny).
//   - BeforeTransaction: nothing is published yet; pass each type the
//     execution may publish (contracts.Publishes) to CheckAny.
func (r *Registry) Check(p Point, msgType, status string) Action {
	return r.CheckAny(p, []string{msgType}, status)
}

// CheckAny is Check for several message types at once: one action whose
// delays add up and whose error is the first matching error anomaly.
func (r *Registry) CheckAny(p Point, msgTypes []string, status string) Action {
	r.mu.RLock()
	if len(r.items) == 0 {
		r.mu.RUnlock()
		return Action{}
	}
	var act Action
	for _, t := range Types() {
		if t.Point() != p {
			continue
		}
		for _, mt := range msgTypes {
			a, ok := r.items[key{t, mt}]
			if !ok || !a.Matches(mt, status) {
				continue
			}
			act.Fired = append(act.Fired, a)
			if t.IsDelay() {
				act.Delay += a.Params.Delay
				act.Released = r.gone[key{t, mt}]
			} else if act.Err == nil {
				act.Err = &Error{Type: t, MessageType: mt, Point: p}
			}
		}
	}
	r.mu.RUnlock()
	if len(act.Fired) > 0 {
		r.mu.Lock()
		for _, a := range act.Fired {
			r.fired[key{a.Type, a.MessageType}]++
		}
		r.mu.Unlock()
		for _, a := range act.Fired {
			r.log.Debug("Anomaly fired", "anomaly", a.Type, "msg_type", a.MessageType, "point", p)
		}
	}
	return act
}

// ApplySync applies a change broadcast on anomalies-sync by any instance of
// the same app, including this one (idempotent).
func (r *Registry) ApplySync(w contracts.AnomalyEventWrapper) error {
	switch {
	case w.Enabled != nil && w.Disabled != nil:
		return errors.New("anomaly sync: both enabled and disabled are set")
	case w.Enabled != nil:
		a, err := Request{AnomalyType: w.Enabled.AnomalyType, MessageType: w.Enabled.MessageType, AdditionalParams: w.Enabled.AdditionalParams}.Parse()
		if err != nil {
			return fmt.Errorf("anomaly sync: %w", err)
		}
		_, err = r.Enable(a)
		return err
	case w.Disabled != nil:
		t, err := ParseType(w.Disabled.AnomalyType)
		if err != nil {
			return fmt.Errorf("anomaly sync: %w", err)
		}
		r.Disable(t, w.Disabled.MessageType)
		return nil
	}
	return errors.New("anomaly sync: neither enabled nor disabled is set")
}

// EnabledEvent and DisabledEvent build the sync messages of a local change.
func EnabledEvent(a Anomaly) contracts.AnomalyEventWrapper {
	return contracts.AnomalyEventWrapper{Enabled: &contracts.AnomalyEnabled{AnomalyType: string(a.Type), MessageType: a.MessageType, AdditionalParams: a.Params.Map()}}
}

// DisabledEvent is the sync message of a local disable.
func DisabledEvent(t Type, msgType string) contracts.AnomalyEventWrapper {
	return contracts.AnomalyEventWrapper{Disabled: &contracts.AnomalyDisabled{AnomalyType: string(t), MessageType: msgType}}
}

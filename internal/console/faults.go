package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ticketflow-lab/tflab/anomalies"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/run"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
)

// FaultsFile is the run directory's record of the faults injected from the
// console: one history.Fault per line (the record a scenario step leaves in
// journal.json), written when the fault is injected and again when healed.
const FaultsFile = "console-faults.jsonl"

// Active is one fault injected from the console and not yet healed.
type Active struct {
	ID       string
	Fault    history.Fault
	Describe string
	healer   anomalies.Healer
	// healTimeout bounds the heal (longer for a cluster that must become
	// whole again).
	healTimeout time.Duration
}

// registry holds the console's injected faults.
type registry struct {
	anomaly func(spec.Action) (anomalies.Anomaly, error)
	log     *slog.Logger
	file    string // FaultsFile's path, "" for none

	mu     sync.Mutex
	seq    map[string]int
	active []*Active
	past   []history.Fault // healed, failed and instant faults, in the order they ended
	fileMu sync.Mutex
}

// inject runs the action's executor; on success the fault is listed until
// healed. An instant action (restart, close-connections) is recorded and
// not listed.
func (r *registry) inject(ctx context.Context, a spec.Action) (*Active, error) {
	r.mu.Lock()
	r.seq[a.Type()]++
	name := "console-" + a.Type() + "-" + strconv.Itoa(r.seq[a.Type()])
	r.mu.Unlock()
	f := run.FaultOf(name, a, 0)
	an, err := r.anomaly(a)
	if err != nil {
		return nil, err
	}
	f.Started = time.Now()
	r.log.Info("Injecting anomaly from the console", "anomaly", name, "type", f.Type, "op", f.Op, "target", f.Target, "params", f.Params)
	h, err := an.Inject(ctx)
	f = run.WithResolved(f, an)
	if err != nil {
		f.Error = err.Error()
		f.Healed = time.Now()
		r.log.Error("Injecting anomaly failed", "anomaly", name, "err", err)
		r.record(f)
		r.ended(f)
		return nil, err
	}
	act := &Active{ID: name, Fault: f, Describe: a.Describe(), healer: h,
		healTimeout: anomalies.HealTimeoutOf(an, anomalies.DefaultHealTimeout)}
	if h == anomalies.Nothing {
		act.Fault.Healed = f.Started
		r.record(act.Fault)
		r.ended(act.Fault)
		return act, nil
	}
	r.record(act.Fault)
	r.mu.Lock()
	r.active = append(r.active, act)
	r.mu.Unlock()
	return act, nil
}

// errNoFault reports a heal of a fault that is not (or no longer) active.
var errNoFault = errors.New("no such active fault")

// heal heals one active fault; it is taken off the list first, so two
// clicks heal once.
func (r *registry) heal(ctx context.Context, id string) error {
	r.mu.Lock()
	i := slices.IndexFunc(r.active, func(a *Active) bool { return a.ID == id })
	if i < 0 {
		r.mu.Unlock()
		return fmt.Errorf("%w: %s", errNoFault, id)
	}
	act := r.active[i]
	r.active = slices.Delete(r.active, i, i+1)
	r.mu.Unlock()
	hctx, cancel := anomalies.HealContext(ctx, act.healTimeout)
	defer cancel()
	err := act.healer.Heal(hctx)
	act.Fault.Healed = time.Now()
	if err != nil {
		act.Fault.HealError = err.Error()
		r.log.Error("Healing anomaly failed", "anomaly", id, "err", err)
	} else {
		r.log.Info("Anomaly healed from the console", "anomaly", id)
	}
	r.record(act.Fault)
	r.ended(act.Fault)
	return err
}

// healAll heals every active fault, concurrently.
func (r *registry) healAll(ctx context.Context) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, a := range r.list() {
		wg.Go(func() {
			if err := r.heal(ctx, a.ID); err != nil && !errors.Is(err, errNoFault) {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", a.ID, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// ended keeps a fault that is no longer active (healed, failed, instant).
func (r *registry) ended(f history.Fault) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.past = append(r.past, f)
}

// faults is every fault the console injected: the ended ones, then the
// active ones (Healed zero).
func (r *registry) faults() []history.Fault {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.past)
	for _, a := range r.active {
		out = append(out, a.Fault)
	}
	return out
}

func (r *registry) list() []*Active {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.active)
}

func (r *registry) record(f history.Fault) {
	if r.file == "" {
		return
	}
	b, err := json.Marshal(f)
	if err != nil {
		return
	}
	r.fileMu.Lock()
	defer r.fileMu.Unlock()
	fh, err := os.OpenFile(r.file, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err == nil {
		_, err = fh.Write(append(b, '\n'))
		err = errors.Join(err, fh.Close())
	}
	if err != nil {
		r.log.Warn("Cannot record a console fault", "file", r.file, "err", err)
	}
}

package anomalies

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
)

// Process operations.
const (
	OpKill        = "kill"         // SIGKILL; Heal restarts the process
	OpPause       = "pause"        // SIGSTOP; Heal continues it (SIGCONT)
	OpResume      = "resume"       // SIGCONT (instant)
	OpRestart     = "restart"      // stop gracefully and start again (instant)
	OpClockOffset = "clock-offset" // POST /lab/clock {"offsetMs": N}; Heal sets 0
)

// Process signals a service's processes, or moves their clocks, through the
// lab's supervisor and each service's clock API:
//
//	kill          SIGKILL every targeted instance; Heal starts them again
//	pause         SIGSTOP; Heal sends SIGCONT
//	resume        SIGCONT (instant)
//	restart       SIGTERM, wait, start again (instant)
//	clock-offset  POST <http>/lab/clock {"offsetMs": N}; Heal posts 0
//
// Evidence: processes.killed, processes.paused, clock.offset.max-ms (the
// offset each service reports back through GET /lab/clock).
type Process struct {
	Env     *Env
	Op      string
	Service string
	// Instance is the instance number (1, 2, …); 0 targets every instance.
	Instance int
	// Offset is how far clock-offset moves the clock (may be negative).
	Offset time.Duration
}

var _ Anomaly = (*Process)(nil)

// Name is "<op>-<service>[-<n>]".
func (p *Process) Name() string {
	n := p.Op + "-" + p.Service
	if p.Instance > 0 {
		n += "-" + strconv.Itoa(p.Instance)
	}
	return n
}

// Inject performs the operation on every targeted instance.
func (p *Process) Inject(ctx context.Context) (Healer, error) {
	env := p.Env
	targets, err := env.instances(p.Service, p.Instance)
	if err != nil {
		return nil, fmt.Errorf("inject %s: %w", p.Name(), err)
	}
	if p.Op != OpClockOffset && env.Processes == nil {
		return nil, fmt.Errorf("inject %s: the lab exposes no process control", p.Name())
	}
	env.log().Info("Injecting anomaly", "anomaly", p.Name(), "instances", len(targets))
	var done []Instance
	// undo runs op on every instance done so far and joins the errors.
	undo := func(ctx context.Context, op func(context.Context, Instance) error) error {
		var errs []error
		for _, in := range done {
			if err := op(ctx, in); err != nil {
				errs = append(errs, fmt.Errorf("heal %s on %s: %w", p.Name(), in.ID, err))
			}
		}
		err := errors.Join(errs...)
		env.log().Info("Anomaly healed", "anomaly", p.Name(), "err", err)
		return err
	}
	var (
		apply func(context.Context, Instance) error
		heal  Healer
	)
	switch p.Op {
	case OpKill:
		apply = func(ctx context.Context, in Instance) error {
			if err := env.Processes.Kill(ctx, in.ID); err != nil {
				return err
			}
			env.Evidence.Add(CounterProcessesKilled, 1)
			return nil
		}
		heal = HealFunc(func(ctx context.Context) error {
			return undo(ctx, func(ctx context.Context, in Instance) error {
				_, err := env.Processes.Restart(ctx, in.ID)
				return err
			})
		})
	case OpPause:
		apply = func(_ context.Context, in Instance) error {
			if err := env.Processes.Pause(in.ID); err != nil {
				return err
			}
			env.Evidence.Add(CounterProcessesPaused, 1)
			return nil
		}
		heal = HealFunc(func(ctx context.Context) error {
			return undo(ctx, func(_ context.Context, in Instance) error { return env.Processes.Resume(in.ID) })
		})
	case OpResume:
		apply = func(_ context.Context, in Instance) error { return env.Processes.Resume(in.ID) }
	case OpRestart:
		apply = func(ctx context.Context, in Instance) error {
			_, err := env.Processes.Restart(ctx, in.ID)
			return err
		}
	case OpClockOffset:
		apply = func(ctx context.Context, in Instance) error {
			got, err := env.setClock(ctx, in, p.Offset)
			if err != nil {
				return err
			}
			env.Evidence.Max(CounterClockOffsetMaxMs, math.Abs(float64(got.Milliseconds())))
			return nil
		}
		heal = HealFunc(func(ctx context.Context) error {
			return undo(ctx, func(ctx context.Context, in Instance) error {
				_, err := env.setClock(ctx, in, 0)
				return err
			})
		})
	default:
		return nil, fmt.Errorf("inject %s: unknown process operation %q", p.Name(), p.Op)
	}
	if heal == nil {
		heal = Nothing
	}
	for _, in := range targets {
		if err := apply(ctx, in); err != nil {
			return nil, errors.Join(fmt.Errorf("inject %s on %s: %w", p.Name(), in.ID, err), healNow(ctx, heal))
		}
		done = append(done, in)
	}
	return heal, nil
}

// clockState is the body of POST and GET /lab/clock.
type clockState struct {
	OffsetMs int64 `json:"offsetMs"`
}

// setClock moves an instance's clock and returns the offset the service
// then reports through GET /lab/clock.
func (e *Env) setClock(ctx context.Context, in Instance, offset time.Duration) (time.Duration, error) {
	if in.HTTP == "" {
		return 0, fmt.Errorf("instance %s has no HTTP address", in.ID)
	}
	if err := (request{client: e.http(), method: http.MethodPost, url: in.HTTP + "/lab/clock",
		body: clockState{OffsetMs: offset.Milliseconds()}}).do(ctx); err != nil {
		return 0, err
	}
	var got clockState
	if err := (request{client: e.http(), method: http.MethodGet, url: in.HTTP + "/lab/clock", out: &got}).do(ctx); err != nil {
		return 0, err
	}
	if got.OffsetMs != offset.Milliseconds() {
		return 0, fmt.Errorf("clock of %s reports offset %d ms after setting %d ms", in.ID, got.OffsetMs, offset.Milliseconds())
	}
	return time.Duration(got.OffsetMs) * time.Millisecond, nil
}

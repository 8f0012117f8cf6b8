package workload

import (
	"context"
	"errors"
	"fmt"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/tfhistory"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/history"
)

// Outcome is what happened to one planned inquiry.
type Outcome struct {
	Plan        Planned   `json:"plan"`
	InquiryID   string    `json:"inquiryId,omitempty"` // = ticket id
	Accepted    bool      `json:"accepted"`
	SubmittedAt time.Time `json:"submittedAt,omitzero"`
	TicketAt    time.Time `json:"ticketAt,omitzero"` // first seen in Tickets
	ReadyAt     time.Time `json:"readyAt,omitzero"`  // ready for the desk (translated when not English)
	Qualified   bool      `json:"qualified,omitempty"`
	Assigned    bool      `json:"assigned,omitempty"`
	Blocked     bool      `json:"blocked,omitempty"`
	Unblocked   bool      `json:"unblocked,omitempty"`
	Resolved    bool      `json:"resolved,omitempty"`
	ResolvedAt  time.Time `json:"resolvedAt,omitzero"` // resolve answered 200
	// Stuck: the ticket was not ready for the desk within TicketTimeout.
	Stuck bool `json:"stuck,omitempty"`
	// Read back from the services at the end (Result.Sweep).
	TicketStatus  string    `json:"ticketStatus,omitempty"`
	Translated    bool      `json:"translated,omitempty"`
	Deadline      bool      `json:"deadline,omitempty"` // the ticket has an SLA deadline
	InquiryStatus string    `json:"inquiryStatus,omitempty"`
	Notices       int       `json:"notices,omitempty"`   // closure messages to the customer
	NotifiedAt    time.Time `json:"notifiedAt,omitzero"` // first closure message (Communication's clock)
	Err           string    `json:"error,omitempty"`     // why the lifecycle stopped early
}

// Result is a run's record. Submissions and Commands are the scenario
// history's own types (history.History.Workload and .Commands), ready to be
// stored with the run's spans and snapshot.
type Result struct {
	Start       time.Time              `json:"start"`
	End         time.Time              `json:"end"`
	Outcomes    []Outcome              `json:"outcomes"`
	Submissions []tfhistory.Submission `json:"submissions"` // in submission order, attempted ones only
	Commands    []tfhistory.Command    `json:"commands"`    // in the order they were sent
	Summary     Summary                `json:"summary"`
}

// Progress is a live view of a run, passed to Config.Progress.
type Progress struct {
	Elapsed   time.Duration `json:"elapsed"`
	Phase     string        `json:"phase"` // running | settling | done
	Planned   int           `json:"planned"`
	Submitted int           `json:"submitted"`
	Accepted  int           `json:"accepted"`
	Ticketed  int           `json:"ticketed"`
	Resolved  int           `json:"resolved"`
	Failed    int           `json:"failed"` // lifecycles that stopped on an error
	InFlight  int           `json:"inFlight"`
}

// Run draws the plan from rng and runs it (Plan, then RunPlan).
func Run(ctx context.Context, cfg Config, rng *rand.Rand) (*Result, error) {
	plan, err := Plan(cfg, rng)
	if err != nil {
		return nil, err
	}
	return RunPlan(ctx, cfg, plan)
}

// RunPlan submits the planned inquiries at cfg.Rate and takes each through
// its lifecycle over the services' HTTP APIs: submit, wait for the ticket
// (translated when not English), qualify, assign, block and unblock,
// resolve — as planned. It then waits up to cfg.Settle for the effects it
// can observe and reads the final state back.
//
// RunPlan stops by itself: every wait is bounded and the whole run is bounded
// by cfg.Timeout. When ctx ends (or the timeout hits) it stops submitting,
// abandons the lifecycles in flight, does a short final read and returns the
// partial Result together with an error wrapping ctx's. Any other error
// (bad config, no agents) comes before the first submission and returns a
// nil Result.
func RunPlan(ctx context.Context, cfg Config, plan []Planned) (*Result, error) {
	own := cfg.Client == nil
	cfg.setDefaults()
	if own {
		defer cfg.Client.CloseIdleConnections()
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(plan) == 0 {
		return nil, errors.New("workload: empty plan")
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	r := &runner{cfg: cfg, c: &client{http: cfg.Client, ep: cfg.Endpoints}, plan: plan}
	agents, err := r.c.agents(ctx)
	if err != nil {
		return nil, fmt.Errorf("workload: %w", err)
	}
	r.agents = agents
	return r.run(ctx)
}

type runner struct {
	cfg    Config
	c      *client
	plan   []Planned
	agents []string
	start  time.Time

	outcomes []Outcome              // slot i belongs to lifecycle i until wg.Wait
	subs     []tfhistory.Submission // likewise; Status -1 = never attempted
	mu       sync.Mutex
	cmds     []tfhistory.Command

	submitted, accepted, ticketed, resolved, failed, inFlight atomic.Int64
	phase                                                     atomic.Value
}

func (r *runner) run(ctx context.Context) (*Result, error) {
	log := r.cfg.Log
	r.start = time.Now()
	r.phase.Store("running")
	r.outcomes = make([]Outcome, len(r.plan))
	r.subs = make([]tfhistory.Submission, len(r.plan))
	for i := range r.plan {
		r.outcomes[i].Plan = r.plan[i]
		r.subs[i].Status = -1
	}
	stopProgress := r.reportProgress()
	log.Debug("Workload started", "inquiries", len(r.plan), "rate", r.cfg.Rate, "endpoints", r.cfg.Endpoints)

	var wg sync.WaitGroup
	sem := make(chan struct{}, r.cfg.MaxInFlight)
	timer := time.NewTimer(0)
	defer timer.Stop()
	var held time.Duration // shifts the pacing after a hold
submit:
	for i := range r.plan {
		if r.cfg.Hold != nil {
			h := time.Now()
			if err := r.cfg.Hold(ctx, i); err != nil {
				break submit
			}
			if d := time.Since(h); d > time.Millisecond {
				held += d
			}
		}
		if d := time.Until(r.start.Add(held + r.plan[i].At)); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				break submit
			case <-timer.C:
			}
		}
		select {
		case <-ctx.Done():
			break submit
		case sem <- struct{}{}:
		}
		r.inFlight.Add(1)
		wg.Go(func() {
			defer func() { <-sem; r.inFlight.Add(-1) }()
			r.lifecycle(ctx, i)
		})
	}
	wg.Wait()

	// Settle: wait for the asynchronous effects, then read the final state.
	r.phase.Store("settling")
	var (
		sw        sweep
		sweepErrs []string
	)
	if ctx.Err() != nil { // interrupted: one short read so the summary says where things stood
		sctx, c := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		sw, sweepErrs = r.sweep(sctx)
		c()
	} else {
		sw, sweepErrs = r.settle(ctx)
	}
	r.phase.Store("done")
	stopProgress()

	res := &Result{Start: r.start, End: time.Now(), Outcomes: r.outcomes}
	for _, s := range r.subs {
		if s.Status != -1 {
			res.Submissions = append(res.Submissions, s)
		}
	}
	res.Commands = r.cmds
	slices.SortStableFunc(res.Commands, func(a, b tfhistory.Command) int { return a.At.Compare(b.At) })
	sw.apply(res.Outcomes)
	res.Summary = summarize(res, r.cfg, sweepErrs)
	log.Debug("Workload finished", "accepted", res.Summary.Accepted, "resolved", res.Summary.Resolved, "duration", res.Summary.Duration)
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("workload stopped after %d of %d submissions: %w", res.Summary.Submitted, len(r.plan), context.Cause(ctx))
	}
	return res, nil
}

func (r *runner) reportProgress() (stop func()) {
	if r.cfg.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(r.cfg.ProgressEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				r.cfg.Progress(r.progress())
				return
			case <-t.C:
				r.cfg.Progress(r.progress())
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

func (r *runner) progress() Progress {
	phase, _ := r.phase.Load().(string)
	return Progress{Elapsed: time.Since(r.start), Phase: phase, Planned: len(r.plan),
		Submitted: int(r.submitted.Load()), Accepted: int(r.accepted.Load()), Ticketed: int(r.ticketed.Load()),
		Resolved: int(r.resolved.Load()), Failed: int(r.failed.Load()), InFlight: int(r.inFlight.Load())}
}

// life is one lifecycle's private state: its own seeded source, so that its
// trace ids and pauses do not depend on how goroutines interleave.
type life struct {
	r   *runner
	p   *Planned
	o   *Outcome
	rng *rand.Rand
}

func (r *runner) lifecycle(ctx context.Context, i int) {
	l := &life{r: r, p: &r.plan[i], o: &r.outcomes[i], rng: rand.New(rand.NewPCG(r.plan[i].Seed, uint64(i)))}
	if err := l.run(ctx); err != nil {
		l.o.Err = err.Error()
		if ctx.Err() == nil {
			r.failed.Add(1)
			r.cfg.Log.Debug("Lifecycle stopped", "seq", i, "inquiry", l.o.InquiryID, "err", err)
		}
	}
}

func (l *life) run(ctx context.Context) error {
	p, o := l.p, l.o
	id, err := l.submit(ctx)
	if err != nil {
		return err
	}
	t, err := l.waitReady(ctx, id)
	if err != nil {
		return err
	}
	status := t.Status
	if p.Qualify && status == statusBefore {
		o.Qualified = l.command(ctx, "qualify", id, map[string]string{"type": p.Type, "severity": p.Severity},
			l.r.c.ticketURL(id, "qualify"), map[string]string{"ticketType": p.Type, "severityLevel": p.Severity},
			func(t ticketDetails) bool { return t.Status == statusQualified })
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if o.Qualified && (p.Assign || p.Block || p.Resolve) && l.r.cfg.HoldDesk != nil {
		if err := l.r.cfg.HoldDesk(ctx); err != nil {
			return fmt.Errorf("desk hold: %w", err)
		}
	}
	if o.Qualified && p.Assign {
		ag := l.r.agents[p.Agent%len(l.r.agents)]
		l.think(ctx)
		o.Assigned = l.command(ctx, "assign", id, map[string]string{"agent": ag}, l.r.c.ticketURL(id, "assign", ag), nil,
			func(t ticketDetails) bool { return t.AssignedAgentUserID != nil })
	}
	if o.Qualified && p.Block {
		l.think(ctx)
		o.Blocked = l.command(ctx, "block", id, map[string]string{"reason": p.BlockReason}, l.r.c.ticketURL(id, "block", p.BlockReason), nil,
			func(t ticketDetails) bool { return t.Status == statusBlocked })
		if o.Blocked {
			l.think(ctx)
			o.Unblocked = l.command(ctx, "unblock", id, map[string]string{"reason": p.UnblockReason}, l.r.c.ticketURL(id, "unblock", p.UnblockReason), nil,
				func(t ticketDetails) bool { return t.Status == statusQualified })
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if p.Resolve {
		l.think(ctx)
		o.Resolved = l.command(ctx, "resolve", id, map[string]string{"resolution": p.Resolution}, l.r.c.ticketURL(id, "resolve", p.Resolution), nil,
			func(t ticketDetails) bool { return t.Status == statusResolved })
		if o.Resolved {
			l.r.resolved.Add(1)
		} else if err := ctx.Err(); err != nil {
			return err
		} else {
			return errors.New("resolve failed")
		}
	}
	return ctx.Err()
}

func (l *life) trace() (history.TraceID, [8]byte) {
	var t history.TraceID
	var s [8]byte
	for t.IsZero() {
		putUint64(t[:8], l.rng.Uint64())
		putUint64(t[8:], l.rng.Uint64())
	}
	for s == [8]byte{} {
		putUint64(s[:], l.rng.Uint64())
	}
	return t, s
}

func putUint64(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (56 - 8*i))
	}
}

func (l *life) submit(ctx context.Context) (string, error) {
	p, o := l.p, l.o
	trace, span := l.trace()
	o.SubmittedAt = time.Now()
	l.r.submitted.Add(1)
	rep := l.r.c.do(ctx, http.MethodPost, l.r.c.ep.Inquiries+"/inquiries/submit",
		submitRequest{Name: p.Name, Email: p.Email, Title: p.Title, Description: p.Description, Category: p.Category}, trace, span)
	sub := &l.r.subs[p.Seq]
	*sub = tfhistory.Submission{At: o.SubmittedAt, Language: p.Language, Email: p.Email, Accepted: rep.ok(), Status: rep.Status, TraceID: trace}
	if !rep.ok() {
		return "", fmt.Errorf("submit: %w", rep.error())
	}
	o.Accepted = true
	l.r.accepted.Add(1)
	resp, err := decodeReply[submitResponse](rep)
	if err != nil || resp.ID == "" {
		return "", fmt.Errorf("submit accepted but no inquiry id in %q: %v", rep.Body, err)
	}
	sub.InquiryID, o.InquiryID = resp.ID, resp.ID
	return resp.ID, nil
}

// waitReady polls GET /tickets/{id} until the ticket exists and no longer
// waits for its translation, within TicketTimeout of the submission.
func (l *life) waitReady(ctx context.Context, id string) (ticketDetails, error) {
	o := l.o
	deadline := o.SubmittedAt.Add(l.r.cfg.TicketTimeout)
	wait := 10 * time.Millisecond
	var last reply
	for {
		t, rep := l.r.c.ticket(ctx, id)
		last = rep
		if rep.ok() {
			if o.TicketAt.IsZero() {
				o.TicketAt = time.Now()
				l.r.ticketed.Add(1)
			}
			if t.Status != statusWaiting {
				o.ReadyAt = time.Now()
				return t, nil
			}
		}
		if time.Now().Add(wait).After(deadline) {
			state := "no ticket"
			if !o.TicketAt.IsZero() {
				state = "ticket still " + statusWaiting
			} else if err := last.error(); err != nil {
				state += " (" + err.Error() + ")"
			}
			o.Stuck = true
			return t, fmt.Errorf("%s %s after %s", state, id, l.r.cfg.TicketTimeout)
		}
		if err := sleep(ctx, wait); err != nil {
			return t, err
		}
		wait = min(wait*2, l.r.cfg.PollInterval)
	}
}

// command runs one desk command, retrying transport errors and 5xx. When
// every attempt failed it reads the ticket once: took reports whether the
// command took effect anyway (an answer lost after the commit).
func (l *life) command(ctx context.Context, kind, id string, params map[string]string, url string, body any, took func(ticketDetails) bool) bool {
	var rep reply
	for attempt := 1; attempt <= l.r.cfg.Attempts; attempt++ {
		trace, span := l.trace()
		at := time.Now()
		rep = l.r.c.do(ctx, http.MethodPost, url, body, trace, span)
		l.r.record(tfhistory.Command{Kind: kind, TicketID: id, At: at, Accepted: rep.ok(), Status: rep.Status, Params: params, TraceID: trace})
		if rep.ok() {
			if kind == "resolve" {
				l.o.ResolvedAt = time.Now()
			}
			return true
		}
		if !rep.transient() || ctx.Err() != nil || attempt == l.r.cfg.Attempts {
			break
		}
		if sleep(ctx, time.Duration(attempt)*100*time.Millisecond) != nil {
			return false
		}
	}
	if ctx.Err() != nil {
		return false
	}
	t, tr := l.r.c.ticket(ctx, id)
	done := tr.ok() && took(t)
	if !done {
		l.r.cfg.Log.Debug("Command failed", "kind", kind, "ticket", id, "err", rep.error())
	}
	return done
}

func (r *runner) record(c tfhistory.Command) {
	r.mu.Lock()
	r.cmds = append(r.cmds, c)
	r.mu.Unlock()
}

func (l *life) think(ctx context.Context) {
	if l.r.cfg.Think > 0 {
		_ = sleep(ctx, time.Duration(l.rng.Int64N(int64(l.r.cfg.Think))))
	}
}

// sleep pauses for pacing (never to wait for a result), or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

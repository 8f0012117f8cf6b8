package lab

import (
	"context"
	"errors"
	"fmt"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/tfhistory"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
	"github.com/ticketflow-lab/tflab/scenarios/sut"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/workload"
)

// Endpoints picks the services the workload talks to from the lab's.
func Endpoints(eps sut.Endpoints) (workload.Endpoints, error) {
	out := workload.Endpoints{Inquiries: eps.First("inquiries"), Tickets: eps.First("tickets"), Communication: eps.First("communication")}
	if out.Inquiries == "" || out.Tickets == "" {
		return out, fmt.Errorf("no inquiries and tickets services: the workload has nothing to drive")
	}
	return out, nil
}

// Workload runs a scenario's workload block (workload.Spec): inquiries at
// its rate, each through the desk's lifecycle. A ticket that has not come
// 10 s after the method's faults ended is lost or stuck: waiting the
// generator's default 30 s per straggler would only slow the controls,
// whose whole point is that some never come.
func Workload(ctx context.Context, cfg spec.WorkloadConfig, env sut.LoadEnv) ([]history.Record, error) {
	w, ok := cfg.(*workload.Spec)
	if !ok || w == nil {
		return nil, fmt.Errorf("workload: want Ticketflow's block, got %T", cfg)
	}
	c := workload.FromSpec(w, env.Settle)
	c.TicketTimeout = env.MethodEnd + 10*time.Second
	c.Quiet = env.Quiet
	eps, err := Endpoints(env.Endpoints)
	if err != nil {
		return nil, err
	}
	c.Endpoints = eps
	c.Log = env.Log
	c.Hold = env.Hold
	if w.HoldDesk {
		if env.Await == nil {
			return nil, errors.New("workload: holdDesk needs the scenario's workload.hold")
		}
		c.HoldDesk = env.Await
	}
	if env.Progress != nil || env.Count != nil {
		c.Progress = func(p workload.Progress) {
			if env.Progress != nil {
				env.Progress(progressLine(p))
			}
			if env.Count != nil {
				env.Count(p.Submitted, p.Accepted)
			}
		}
	}
	if env.Count != nil && env.CountEvery > 0 {
		c.ProgressEvery = env.CountEvery
	}
	res, err := workload.Run(ctx, c, env.Rand)
	if res == nil {
		return nil, err
	}
	return tfhistory.Records(res.Submissions, res.Commands), err
}

func progressLine(p workload.Progress) string {
	if p.Planned == 0 {
		return ""
	}
	return fmt.Sprintf("inquiries %d/%d submitted, %d accepted, %d ticketed, %d resolved", p.Submitted, p.Planned, p.Accepted, p.Ticketed, p.Resolved)
}

// Probe submits one English inquiry and waits until its ticket is ready
// for the desk.
func Probe(ctx context.Context, env sut.LoadEnv, timeout time.Duration) ([]history.Record, error) {
	eps, err := Endpoints(env.Endpoints)
	if err != nil {
		return nil, err
	}
	cfg := workload.Config{Inquiries: 1, Rate: 1, Languages: map[string]float64{"en": 1}, Endpoints: eps,
		TicketTimeout: timeout, Timeout: timeout + 10*time.Second, Log: env.Log}
	res, err := workload.Run(ctx, cfg, env.Rand)
	if res == nil {
		return nil, err
	}
	recs := tfhistory.Records(res.Submissions, res.Commands)
	if err != nil {
		return recs, err
	}
	if len(res.Outcomes) != 1 {
		return recs, fmt.Errorf("the probe's workload ran %d inquiries", len(res.Outcomes))
	}
	o := res.Outcomes[0]
	switch {
	case !o.Accepted:
		return recs, fmt.Errorf("inquiry not accepted: %s", orText(o.Err, "no 2xx"))
	case o.ReadyAt.IsZero():
		return recs, fmt.Errorf("inquiry %s did not become a ready ticket within %s: %s", o.InquiryID, timeout, orText(o.Err, "no ticket"))
	}
	return recs, nil
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

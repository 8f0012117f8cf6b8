package run

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/ticketflow-lab/tflab/internal/broker"
	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
)

// Probe names (spec.Probes).
const (
	ProbeServicesHealthy = "services-healthy"
	ProbeBrokerHealthy   = "broker-healthy"
	ProbeQueuesEmpty     = "queues-empty"
	ProbeEndToEnd        = "end-to-end"
	ProbeMinThroughput   = "min-throughput"
)

// Default probe timeouts when the scenario gives none.
const (
	defaultProbeTimeout    = 10 * time.Second
	defaultEndToEndTimeout = 30 * time.Second
	probePollEvery         = 250 * time.Millisecond
)

// pollProbe runs check until it returns nil or timeout elapses; the probe
// fails with check's last error.
func pollProbe(ctx context.Context, timeout time.Duration, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(probePollEvery)
	defer tick.Stop()
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-tick.C:
		}
	}
}

// runProbe runs one steady-state probe now. min-throughput is judged later
// from the spans (see throughputProbe) and returns ok=false, done=false here.
func (r *runner) runProbe(ctx context.Context, phase string, p spec.Probe) (history.Probe, bool) {
	start := time.Now()
	res := history.Probe{Phase: phase, Name: p.Probe, At: start}
	timeout := p.Timeout.D()
	if timeout <= 0 {
		timeout = defaultProbeTimeout
	}
	var err error
	switch p.Probe {
	case ProbeServicesHealthy:
		err = pollProbe(ctx, timeout, r.servicesHealthy)
	case ProbeBrokerHealthy:
		err = pollProbe(ctx, timeout, r.brokerHealthy)
	case ProbeQueuesEmpty:
		err = pollProbe(ctx, timeout, r.queuesEmpty)
	case ProbeEndToEnd:
		if p.Timeout <= 0 {
			timeout = defaultEndToEndTimeout
		}
		err = r.endToEnd(ctx, timeout)
	case ProbeMinThroughput:
		return res, false
	default:
		err = fmt.Errorf("unknown probe %q", p.Probe)
	}
	res.OK, res.Took = err == nil, history.Duration(time.Since(start))
	if err != nil {
		res.Detail = err.Error()
	} else {
		res.Detail = "ok"
	}
	return res, true
}

func (r *runner) servicesHealthy(ctx context.Context) error {
	info := r.lab.Info()
	var bad []string
	for _, id := range info.IDs() {
		if err := lab.CheckHealth(ctx, info.Services[id].HTTP); err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", id, err))
		}
	}
	if len(bad) > 0 {
		return errors.New(strings.Join(bad, "; "))
	}
	return nil
}

func (r *runner) brokerHealthy(ctx context.Context) error {
	info := r.lab.Info()
	if err := broker.Ping(ctx, info.Broker.AMQP, 2*time.Second); err != nil {
		return err
	}
	if r.env.Management == nil {
		return nil
	}
	alarms, err := r.env.Management.Alarms(ctx)
	if err != nil {
		return err
	}
	if len(alarms) > 0 {
		var s []string
		for _, a := range alarms {
			s = append(s, a.Resource+" alarm on "+a.Node)
		}
		return errors.New(strings.Join(s, "; "))
	}
	return nil
}

func (r *runner) queuesEmpty(ctx context.Context) error {
	pending, err := r.queues.pending(ctx)
	if err != nil {
		return err
	}
	if len(pending) > 0 {
		return errors.New(describeQueues(pending))
	}
	return nil
}

// endToEnd runs the system's end-to-end probe. Its records join the run's
// workload, so the checkers hold the system to them like to any other.
func (r *runner) endToEnd(ctx context.Context, timeout time.Duration) error {
	if r.cfg.System.Probe == nil {
		return fmt.Errorf("system %s has no end-to-end probe", r.cfg.System.Name)
	}
	r.probeSeq++
	rng := rand.New(rand.NewPCG(uint64(r.plan.Seed), 0xe2e0000+uint64(r.probeSeq)))
	env := r.loadEnv(rng)
	env.MethodEnd, env.Quiet, env.Log = 0, nil, r.log
	recs, err := r.cfg.System.Probe(ctx, env, timeout)
	r.addRecords(recs)
	return err
}

// throughputProbe judges min-throughput from the spans: handlings per second
// during the method (from the base time to the plan's end) must reach min.
func throughputProbe(phase string, p spec.Probe, events []history.Event, from, to time.Time) history.Probe {
	res := history.Probe{Phase: phase, Name: p.Probe, At: to}
	secs := to.Sub(from).Seconds()
	if secs <= 0 {
		res.Detail = "the method had no duration"
		return res
	}
	n := 0
	for i := range events {
		e := &events[i]
		if e.Kind == history.KindProcess && !e.End.Before(from) && !e.End.After(to) {
			n++
		}
	}
	rate := float64(n) / secs
	res.OK = rate >= p.Min
	res.Detail = fmt.Sprintf("%.1f handlings/s during the method (%d in %.1fs), minimum %.1f", rate, n, secs, p.Min)
	return res
}

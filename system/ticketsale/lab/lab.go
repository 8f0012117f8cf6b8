package lab

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
	"github.com/ticketflow-lab/tflab/scenarios/sut"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/lab/client"
	"github.com/ticketflow-lab/tflab/system/ticketsale/lab/probe"
	"github.com/ticketflow-lab/tflab/system/ticketsale/lab/snapshot"
	"github.com/ticketflow-lab/tflab/system/ticketsale/lab/workload"
)

var (
	_ sut.Workload    = Workload
	_ sut.Probe       = Probe
	_ sut.Snapshotter = Snapshot
	_ sut.Counter     = Counts
)

// WorkloadType is ticketsale's `workload:` block for the scenario parser
// and the JSON Schema.
func WorkloadType() *spec.WorkloadType {
	return &spec.WorkloadType{Properties: workload.Properties(), Decode: DecodeWorkload}
}

// DecodeWorkload decodes a workload block into a *workload.Config; each
// problem is a spec error with the line of its field.
func DecodeWorkload(n *yaml.Node) (spec.WorkloadConfig, error) {
	cfg, err := workload.Decode(n)
	if err == nil {
		return &cfg, nil
	}
	var out []error
	for _, e := range unjoin(err) {
		var fe *workload.FieldError
		if errors.As(e, &fe) {
			path := "workload"
			if fe.Field != "" {
				path += "." + fe.Field
			}
			out = append(out, spec.FieldError(fe.Line, path, "%s", fe.Msg))
			continue
		}
		out = append(out, e)
	}
	return nil, errors.Join(out...)
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// Client returns a client of the lab's endpoints.
func Client(eps sut.Endpoints) (*client.Client, error) {
	return client.New(client.Endpoints(eps), nil)
}

// Workload plays a scenario's crowd: the plan is drawn from env.Rand, and a
// buyer waits for a replica at least until 10 s after the method's faults
// ended.
func Workload(ctx context.Context, cfg spec.WorkloadConfig, env sut.LoadEnv) ([]history.Record, error) {
	c, ok := cfg.(*workload.Config)
	if !ok || c == nil {
		return nil, fmt.Errorf("workload: want ticketsale's block, got %T", cfg)
	}
	cl, err := Client(env.Endpoints)
	if err != nil {
		return nil, fmt.Errorf("workload: %w", err)
	}
	run := *c
	if floor := spec.Duration(env.MethodEnd + 10*time.Second); run.ReplicaWait < floor {
		run.ReplicaWait = floor
	}
	plan, err := workload.NewPlan(run, seed(env))
	if err != nil {
		return nil, err
	}
	opt := workload.Options{Log: env.Log}
	if env.Progress != nil {
		opt.Progress = func(p workload.Progress) { env.Progress(ProgressLine(p)) }
	}
	res, err := workload.Run(ctx, cl, plan, opt)
	if res == nil {
		return nil, err
	}
	return Records(res.Records), err
}

// seed draws the plan's seed from the lab's source.
func seed(env sut.LoadEnv) int64 {
	if env.Rand == nil {
		return 1
	}
	return int64(env.Rand.Uint64() >> 1)
}

// ProgressLine is the runner's short status of a crowd.
func ProgressLine(p workload.Progress) string {
	if p.Phase == "signup" {
		return fmt.Sprintf("signing up: %d accepted, %d refused", p.Accepted, p.Rejected+p.Unknown)
	}
	return fmt.Sprintf("tickets %d/%d started, %d done; requests %d accepted, %d refused, %d unknown; %d paid",
		p.Started, p.Planned, p.Done, p.Accepted, p.Rejected, p.Unknown, p.Paid)
}

// Probe buys and pays for one ticket and waits for the order to be
// complete within timeout.
func Probe(ctx context.Context, env sut.LoadEnv, timeout time.Duration) ([]history.Record, error) {
	cl, err := Client(env.Endpoints)
	if err != nil {
		return nil, fmt.Errorf("probe: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := probe.Run(ctx, cl, probe.Options{Wait: timeout})
	return Records(res.Records), err
}

// Snapshot reads every store (snapshot.Read) into a *snapshot.Snapshot,
// the type the invariants ask for (check.SystemSnapshot[snapshot.Snapshot]).
func Snapshot(ctx context.Context, dbs []sut.DB) (any, error) {
	s, err := snapshot.Read(ctx, dbs)
	return &s, err
}

// Records turns the workload's records into the lab's.
func Records(rs []workload.Record) []history.Record {
	out := make([]history.Record, 0, len(rs))
	for _, r := range rs {
		out = append(out, history.Record{Kind: r.Kind, ID: r.ID, At: r.At, Accepted: r.Outcome == workload.OutcomeAccepted,
			Status: r.Status, Attrs: r.Attrs()})
	}
	return out
}

// Counts sizes a run: requests accepted by kind (listed, ordered, paid)
// and what the stores hold (tickets, orders, complete, cancelled, charges,
// expiration jobs).
func Counts(h *history.History) []history.Count {
	accepted := map[string]int{}
	for _, r := range h.Records {
		if r.Accepted {
			accepted[r.Kind]++
		}
	}
	out := []history.Count{
		{Name: "listed", Label: "Tickets listed", N: accepted[workload.KindTicketCreate], Of: history.CountWorkload},
		{Name: "ordered", Label: "Orders placed", N: accepted[workload.KindOrderPlace], Of: history.CountWorkload},
		{Name: "paid", Label: "Payments", N: accepted[workload.KindPayment], Of: history.CountWorkload},
	}
	s, err := history.SnapshotAs[snapshot.Snapshot](&h.Snapshot.System)
	if err != nil || s == nil {
		return out
	}
	status := map[common.OrderStatus]int{}
	for _, o := range s.Orders {
		status[o.Status]++
	}
	stored := func(name, label string, n int) history.Count {
		return history.Count{Name: name, Label: label, N: n, Of: history.CountSnapshot}
	}
	return append(out,
		stored("tickets", "Tickets", len(s.Tickets)),
		stored("orders", "Orders", len(s.Orders)),
		stored("complete", "Complete", status[common.OrderComplete]),
		stored("cancelled", "Cancelled", status[common.OrderCancelled]),
		stored("charges", "Charges", len(s.Charges)),
		stored("jobs", "Expiration jobs", len(s.Jobs)),
	)
}

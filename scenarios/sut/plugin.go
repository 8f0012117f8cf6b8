package sut

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
)

// Endpoints are the HTTP base URLs of every service instance of the
// running lab, by service name, in instance order.
type Endpoints map[string][]string

// First returns the first instance's base URL of service, "" when it has
// none.
func (e Endpoints) First(service string) string {
	if urls := e[service]; len(urls) > 0 {
		return urls[0]
	}
	return ""
}

// LoadEnv is what a workload driver or probe gets from the lab.
type LoadEnv struct {
	Endpoints Endpoints
	// Rand is seeded from the scenario's seed: the driver's only source of
	// randomness, so a run repeats.
	Rand *rand.Rand
	// Settle is the scenario's settle: how long a driver may wait, after
	// its last request, for the effects it can observe.
	Settle time.Duration
	// MethodEnd is when the method's faults have all ended, from the
	// load's start (0 for a probe): a driver bounds its waits by it.
	MethodEnd time.Duration
	// Quiet, when set, returns nil while nothing is in flight in the
	// system (no queued or unacked message): a driver may stop settling
	// once it stays quiet.
	Quiet func(context.Context) error
	// Progress, when set, takes a short live status of the load for the
	// runner's progress line, e.g. "inquiries 3/10 submitted".
	Progress func(status string)
	// Hold, when set, is the lab's gate on the load (a scenario's
	// `workload.hold`): a driver calls it before each of its paced requests
	// with the request's index from 0; it may block until an event of the
	// run, and an error stops the load.
	Hold func(ctx context.Context, next int) error
	// Await, set with Hold, waits until the hold's condition holds (or the
	// lab gives up on it) whatever the request: a driver may call it from
	// any goroutine to gate other commands of its load on the same event.
	Await func(ctx context.Context) error
	// Count, when set, takes the load's running totals (the live counters
	// workload.submitted and workload.accepted): requests issued and those
	// the system accepted. A driver calls it at least every CountEvery.
	Count      func(submitted, accepted int)
	CountEvery time.Duration
	Log        *slog.Logger
}

// Workload runs a system's load: cfg is the scenario's block as the
// system's WorkloadType decoded it (spec.Vocabulary.Workload). It returns
// what it asked of the system, also the records made before an error or
// cancellation.
type Workload func(ctx context.Context, cfg spec.WorkloadConfig, env LoadEnv) ([]history.Record, error)

// Probe runs one business flow end to end within timeout (a steady-state
// probe): nil error means the flow went through. Its records join the
// run's workload records, so the invariants hold the system to them too.
type Probe func(ctx context.Context, env LoadEnv, timeout time.Duration) ([]history.Record, error)

// Counter sizes a run in the system's words (the journal's and report's
// counts), e.g. accepted inquiries, tickets stored.
type Counter func(h *history.History) []history.Count

package main

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/ticketflow-lab/tflab/internal/netfilter"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
)

// cutOps are the cluster operations that install nftables rules.
var cutOps = []string{"isolate", "split", "one-way", "bridge"}

// checkClusterSteps reports, before anything starts, a plan whose cluster
// steps the lab cannot perform: they need a private cluster (--nodes 2 or
// more, bad usage otherwise), and cuts need nftables, which needs root
// (environment not usable, exit 3, otherwise).
func checkClusterSteps(p *spec.Plan, nodes int) error {
	var cluster, cuts bool
	for _, a := range p.Actions() {
		if a, ok := a.(*spec.ClusterAction); ok {
			cluster = true
			cuts = cuts || slices.Contains(cutOps, a.Op)
		}
	}
	if cluster && nodes < 2 {
		return usageErrorf("scenario %s has cluster steps: run it with --nodes 2 or more", p.Scenario)
	}
	if cuts {
		if err := netfilter.Available(); err != nil {
			return withCode(ExitEnvironment, fmt.Errorf("scenario %s cuts cluster nodes apart: %w", p.Scenario, err))
		}
	}
	return nil
}

// removeStaleTables deletes the nftables tables of labs whose control
// process is gone (killed with SIGKILL: their deferred cleanup never ran).
// Without root there is nothing this process could remove, and nothing a
// lab of it could have left.
func removeStaleTables(log *slog.Logger) {
	if err := netfilter.Available(); err != nil {
		if !errors.Is(err, netfilter.ErrUnavailable) {
			log.Warn("Cannot check for stale nftables tables", "err", err)
		}
		return
	}
	if _, err := netfilter.RemoveStale(log); err != nil {
		log.Warn("Cannot remove stale nftables tables", "err", err)
	}
}

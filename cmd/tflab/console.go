package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/ticketflow-lab/tflab/anomalies"
	"github.com/ticketflow-lab/tflab/internal/console"
	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/internal/netfilter"
	"github.com/ticketflow-lab/tflab/scenarios/run"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
)

// consoleFixedPort is the console's port under --ports fixed (beside the lab
// API's 21000).
const consoleFixedPort = 21080

// consoleRunCommand is how the console starts a scenario run: `tflab run`
// on the lab's external broker when it has one (--amqp-url, and
// --management-url when given), so a run never starts a broker the lab
// was told not to.
func consoleRunCommand(exe string, bf brokerFlags) []string {
	cmd := []string{exe, "--log-level=warn", "run"}
	if bf.amqpURL != "" {
		cmd = append(cmd, "--amqp-url", bf.amqpURL)
		if bf.managementURL != "" {
			cmd = append(cmd, "--management-url", bf.managementURL)
		}
	}
	return cmd
}

// labConsole is the console of a running lab and the nftables table its
// cluster faults cut nodes apart in (nil without a private cluster).
type labConsole struct {
	*console.Console
	cuts *netfilter.Lazy
}

// Close heals the console's faults, then removes the lab's nftables table
// (created by the first cut from the console, if any).
func (c *labConsole) Close(ctx context.Context) error {
	err := c.Console.Close(ctx)
	if c.cuts != nil {
		if cerr := c.cuts.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("remove nftables table %s: %w", c.cuts.Name(), cerr))
		}
	}
	return err
}

// startConsole serves the web console of l on addr ("" picks 127.0.0.1 with
// the fixed port or a free one, after ports) and records its URL in lab.json.
// Scenario runs it starts use the lab's broker flags bf.
func startConsole(l *lab.Lab, addr, ports string, bf brokerFlags, log *slog.Logger) (*labConsole, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
		if ports == string(lab.PortsFixed) {
			addr = "127.0.0.1:" + strconv.Itoa(consoleFixedPort)
		}
	}
	env := run.EnvOf(l, log) // EnvOf names the component
	lc := &labConsole{}
	if cuts, ok := env.Cuts.(*netfilter.Lazy); ok {
		lc.cuts = cuts
	}
	sys, err := lookupSystem("console", l.Info().System)
	if err != nil {
		return nil, err
	}
	// The Scenarios page starts each run as `tflab run`, a fresh lab of its own.
	var runCmd []string
	if exe, err := os.Executable(); err == nil {
		runCmd = consoleRunCommand(exe, bf)
	}
	c, err := console.New(console.Config{
		Info:             l.Info,
		Vocabulary:       sys.Vocabulary,
		Vocabularies:     systems.Vocabularies(),
		Anomaly:          func(a spec.Action) (anomalies.Anomaly, error) { return run.AnomalyOf(a, env) },
		Management:       env.Management,
		InspectionQueues: sys.InspectionQueues,
		RunsRoot:         runsRoot,
		Log:              log.With("component", "console"),
		RunCommand:       runCmd,
	})
	if err != nil {
		return nil, err
	}
	lc.Console = c
	url, err := c.Start(addr)
	if err != nil {
		var opErr *net.OpError
		if errors.As(err, &opErr) {
			err = withCode(ExitEnvironment, fmt.Errorf("%w (choose another with --console 127.0.0.1:PORT, or --console off)", err))
		}
		return nil, err
	}
	return lc, l.SetConsole(url)
}

func newConsoleCmd(st *state) *cobra.Command {
	var (
		runDir string
		open   bool
	)
	cmd := &cobra.Command{
		Use:   "console",
		Short: "Print (or open) the web console's URL of the running lab",
		Long: `Print the URL of the web console that 'tflab up' serves on 127.0.0.1 for
the newest running lab under runs/ (or the one in --run-dir). --open also
opens it in the desktop's browser (xdg-open).

The console: inject a fault by click (the same fault classes and executors
as scenario files), heal it; the topology with queue depths and active
faults; live throughput, latency and queue-depth charts with fault bands and
the invariant board (the lab's spans judged as 'tflab verify' judges them);
the scenario catalog, each scenario or its control started as a
fresh run with its progress, verdict and report; the run directories with
verdicts and reports; follow a message through every service's spans. For a Ticketflow lab also Ticketflow's own
front ends: the customer portal (/portal), the agent desk with its
live-metrics widget (/desk) and the admin panel's in-app anomaly tiles
(/admin).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, in, err := findLab(runDir)
			if err != nil {
				return err
			}
			if in.Console == "" {
				return fmt.Errorf("the lab in %s serves no console (started with --console off, or by an older tflab)", shortPath(in.RunDir))
			}
			fmt.Fprintln(st.stdout, in.Console)
			if open {
				if err := exec.CommandContext(cmd.Context(), "xdg-open", in.Console).Start(); err != nil {
					return fmt.Errorf("open a browser: %w (open %s by hand)", err, in.Console)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&runDir, "run-dir", "", "the lab's run directory (default: the newest running lab under runs/)")
	cmd.Flags().BoolVar(&open, "open", false, "open the console in the desktop's browser (xdg-open)")
	return cmd
}

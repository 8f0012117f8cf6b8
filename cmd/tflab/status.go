package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ticketflow-lab/tflab/internal/lab"
)

// runsRoot is where `tflab up` creates run directories (relative to the
// working directory) and where status and down look for a live lab.
const runsRoot = "runs"

// findLab reads the lab in runDir, or the newest live lab under runs/.
func findLab(runDir string) (string, lab.Info, error) {
	if runDir != "" {
		in, err := lab.ReadInfo(runDir)
		if err != nil {
			return "", lab.Info{}, fmt.Errorf("no lab in %s: %w", runDir, err)
		}
		return runDir, in, nil
	}
	return lab.FindLive(runsRoot)
}

func newStatusCmd(st *state) *cobra.Command {
	var (
		asJSON bool
		runDir string
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the running lab's endpoints, pids and live health",
		Long: `Show the newest running lab under runs/ (or the one in --run-dir): broker,
management UI, Toxiproxy API and every service with its HTTP address, proxy,
pid, process state and a live GET /health.

--json prints a stable document: {"broker":{"amqp","management"},"toxiproxy",
"services":{NAME:{"http","amqp_proxy","pid","healthy"}}} plus more fields.
Exit code 0 when the lab runs, 1 when it does not.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, in, err := findLab(runDir)
			if err != nil {
				return err
			}
			in = lab.Probe(cmd.Context(), in)
			if asJSON {
				enc := json.NewEncoder(st.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(in); err != nil {
					return err
				}
			} else {
				printLab(st.stdout, in)
			}
			if !in.Running {
				return fmt.Errorf("the lab in %s is not running", in.RunDir)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (a stable, public format)")
	cmd.Flags().StringVar(&runDir, "run-dir", "", "the lab's run directory (default: the newest running lab under runs/)")
	return cmd
}

// printLab writes the endpoint table that up and status show.
func printLab(w io.Writer, in lab.Info) {
	state := "running"
	if !in.Running {
		state = "NOT RUNNING"
	}
	fmt.Fprintf(w, "Lab %s: system %s, %s (control pid %d, seed %d)\n", shortPath(in.RunDir), in.System, state, in.ControlPID, in.Seed)
	if in.Note != "" {
		fmt.Fprintf(w, "note: %s\n", in.Note)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COMPONENT\tENDPOINT\tSTATUS\tDETAILS")
	b := in.Broker
	brokerDetail := b.Provider + " broker"
	if len(b.Nodes) > 0 {
		brokerDetail = fmt.Sprintf("%s node %s", b.Provider, b.Nodes[0].Name)
		if b.PID > 0 {
			brokerDetail += fmt.Sprintf(", pid %d", b.PID)
		}
	}
	if b.QueueType != "" {
		brokerDetail += ", " + b.QueueType + " queues"
	}
	if b.PartitionHandling != "" {
		brokerDetail += ", partitions: " + b.PartitionHandling
	}
	fmt.Fprintf(tw, "broker AMQP\t%s\t%s\t%s\n", b.AMQP, healthWord(b.Healthy), brokerDetail)
	for i, n := range b.Nodes[min(1, len(b.Nodes)):] {
		fmt.Fprintf(tw, "broker node %d\t%s\t\t%s, pid %d\n", i+2, n.AMQP, n.Name, n.PID)
	}
	if b.Management != "" {
		fmt.Fprintf(tw, "management UI\t%s\t\tuser guest, password guest\n", b.Management)
	}
	fmt.Fprintf(tw, "Toxiproxy API\t%s\t%s\ttoxiproxy-cli --host %s list\n", in.Toxiproxy, healthWord(in.ToxiproxyHealthy), in.Toxiproxy)
	if in.OTLP != "" {
		fmt.Fprintf(tw, "OTLP export\t%s\t\tevery service's spans (also in traces/)\n", in.OTLP)
	}
	if in.TraceUI != "" {
		fmt.Fprintf(tw, "Jaeger query\t%s\t\t/api/services, /api/traces?service=<name>\n", in.TraceUI)
	}
	if in.LabAPI != "" {
		fmt.Fprintf(tw, "lab API\t%s\t\tmessage faults: %s/services/<id>/faults, .../evidence\n", in.LabAPI, in.LabAPI)
	}
	if in.Console != "" {
		fmt.Fprintf(tw, "console\t%s\t\tinject faults, topology, live charts and invariants, scenarios, runs, follow a message (tflab console)\n", in.Console)
	}
	for _, id := range in.IDs() {
		s := in.Services[id]
		status := healthWord(s.Healthy)
		if s.State != "" && s.State != "running" {
			status = strings.ToUpper(s.State)
		}
		fmt.Fprintf(tw, "%s HTTP\t%s/health\t%s\tpid %d\n", id, s.HTTP, status, s.PID)
		if s.MessageProxy != "" {
			fmt.Fprintf(tw, "%s proxy\t%s\t\t%s -> message proxy %s -> %s\n", id, s.AMQPProxy, s.Proxy, s.MessageProxy, s.Upstream)
		} else {
			fmt.Fprintf(tw, "%s proxy\t%s\t\t%s -> %s\n", id, s.AMQPProxy, s.Proxy, s.Upstream)
		}
		if len(b.Nodes) > 1 {
			fmt.Fprintf(tw, "%s placement\t%s\t\t", id, s.Node)
			for i, f := range s.Fallbacks {
				if i > 0 {
					fmt.Fprint(tw, ", ")
				}
				fmt.Fprintf(tw, "then %s via %s (%s)", f.Node, f.Proxy, f.AMQPProxy)
			}
			fmt.Fprintln(tw)
		}
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\nrun dir: %s (lab.json, logs/, traces/, db/)\n", shortPath(in.RunDir))
}

func healthWord(ok bool) string {
	if ok {
		return "healthy"
	}
	return "DOWN"
}

// shortPath shows p relative to the working directory when it is inside it.
func shortPath(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	if rel, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return p
}

package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ticketflow-lab/tflab/internal/lab"
)

func newDownCmd(st *state) *cobra.Command {
	var (
		runDir string
		wait   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Stop a lab started with 'tflab up' in another terminal",
		Long: `Stop the newest running lab under runs/ (or the one in --run-dir): send its
control process SIGTERM, which stops the services, the proxies and the broker
in that order, and wait until it has exited.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, in, err := findLab(runDir)
			if err != nil {
				return err
			}
			if err := lab.StopRemote(cmd.Context(), in, wait); err != nil {
				return err
			}
			fmt.Fprintf(st.stdout, "Stopped the lab in %s (control pid %d)\n", shortPath(dir), in.ControlPID)
			// Its nftables table, if its deferred removal did not run.
			removeStaleTables(st.logger())
			return nil
		},
	}
	cmd.Flags().StringVar(&runDir, "run-dir", "", "the lab's run directory (default: the newest running lab under runs/)")
	cmd.Flags().DurationVar(&wait, "timeout", time.Minute, "how long to wait for the lab to stop")
	return cmd
}

package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ticketflow-lab/tflab/internal/benchproxy"
	"github.com/ticketflow-lab/tflab/internal/broker"
	"github.com/ticketflow-lab/tflab/internal/toxihost"
)

func newBenchCmd(st *state) *cobra.Command {
	bench := &cobra.Command{
		Use:   "bench",
		Short: "Benchmarks that print ratios measured in the same run",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageErrorf("bench needs a benchmark name (see 'tflab bench --help')")
		},
	}
	bench.AddCommand(newBenchProxyCmd(st))
	return bench
}

func newBenchProxyCmd(st *state) *cobra.Command {
	var (
		cfg    benchproxy.Config
		rounds int
		bf     brokerFlags
	)
	cmd := &cobra.Command{
		Use:   "proxy",
		Short: "Publish→consume msg/s directly to the broker and through the embedded Toxiproxy, and their ratio",
		Long: `Measure persistent, confirmed publish→consume throughput on one connection
(confirm window, consumer prefetch, manual ack) straight to the broker and
through an embedded Toxiproxy proxy without toxics. Rounds alternate sides;
the medians and their ratio are printed. Reference on 2 cores: about 25k msg/s
direct and a ratio of about 0.77.

A private RabbitMQ node is started for the run unless --amqp-url is given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Messages < 1 || cfg.Size < 1 || cfg.Window < 1 || cfg.Prefetch < 1 || rounds < 1 {
				return usageErrorf("--messages, --size, --window, --prefetch and --rounds must be positive")
			}
			ctx := cmd.Context()
			prov, err := bf.provider(st, fmt.Sprintf("tflabbench%d", os.Getpid()), false)
			if err != nil {
				return err
			}
			dir, err := os.MkdirTemp("", "tflab-bench-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			fmt.Fprintf(st.stderr, "Starting the %s broker…\n", prov.Name())
			br, err := prov.Start(ctx, dir)
			if err != nil {
				return envError(fmt.Errorf("bench broker: %w", err))
			}
			defer func() {
				sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
				defer cancel()
				_ = br.Stop(sctx)
			}()
			direct := br.Nodes()[0].AMQPURL
			th, err := toxihost.Start("127.0.0.1:0", nil)
			if err != nil {
				return err
			}
			defer th.Close()
			upstream, err := broker.HostPort(direct)
			if err != nil {
				return err
			}
			listen, err := th.AddProxy("bench-amqp", "127.0.0.1:0", upstream)
			if err != nil {
				return err
			}
			proxied, err := broker.WithHost(direct, listen)
			if err != nil {
				return err
			}
			progress := func(side benchproxy.Side, round, n int) {
				fmt.Fprintf(st.stderr, "\r%-9s round %d/%d: %6d/%d messages", side, round, rounds, n, cfg.Messages)
				if n == cfg.Messages {
					fmt.Fprintln(st.stderr)
				}
			}
			c, err := benchproxy.Compare(ctx, direct, proxied, cfg, rounds, progress)
			if err != nil {
				fmt.Fprintln(st.stderr)
				return err
			}
			fmt.Fprintf(st.stdout, "bench proxy: %d persistent confirmed %d-byte messages per round, one connection, confirm window %d, prefetch %d, manual ack; median of %d rounds\n",
				cfg.Messages, cfg.Size, cfg.Window, cfg.Prefetch, rounds)
			fmt.Fprintf(st.stdout, "direct     %8.0f msg/s   (rounds: %s)\n", c.DirectRate, rates(c.Direct))
			fmt.Fprintf(st.stdout, "toxiproxy  %8.0f msg/s   (rounds: %s)\n", c.ProxiedRate, rates(c.Proxied))
			fmt.Fprintf(st.stdout, "ratio      %8.2f         (toxiproxy / direct; reference ~0.77 on 2 cores)\n", c.Ratio)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.Messages, "messages", 30000, "messages per round")
	f.IntVar(&cfg.Size, "size", 512, "message body size in bytes")
	f.IntVar(&cfg.Window, "window", 256, "publisher confirm window (unconfirmed messages in flight)")
	f.IntVar(&cfg.Prefetch, "prefetch", 200, "consumer prefetch")
	f.IntVar(&rounds, "rounds", 3, "rounds per side (alternating); the median is reported")
	bf.bind(cmd, false)
	bf.nodes = 1
	return cmd
}

func rates(rs []benchproxy.Result) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("%.0f", r.Rate())
	}
	return strings.Join(parts, " ")
}

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ticketflow-lab/tflab/internal/benchhop"
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
	bench.AddCommand(newBenchProxyCmd(st), newBenchHopCmd(st))
	return bench
}

// benchBroker starts the broker the flags name in a fresh temporary
// directory; stop stops it and removes the directory. node.PID is 0 unless
// the node is our own process.
func benchBroker(ctx context.Context, st *state, bf *brokerFlags) (node broker.Node, dir string, stop func(), err error) {
	prov, err := bf.provider(st, fmt.Sprintf("tflabbench%d", os.Getpid()), false)
	if err != nil {
		return broker.Node{}, "", nil, err
	}
	if p, ok := prov.(broker.Private); ok {
		p.Disposable = true // nobody reuses a bench node's data: kill it, no graceful stop
		prov = p
	}
	if dir, err = os.MkdirTemp("", "tflab-bench-"); err != nil {
		return broker.Node{}, "", nil, err
	}
	// TMPDIR may be relative; the node needs an absolute directory.
	if dir, err = filepath.Abs(dir); err != nil {
		return broker.Node{}, "", nil, err
	}
	fmt.Fprintf(st.stderr, "Starting the %s broker…\n", prov.Name())
	br, err := prov.Start(ctx, dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return broker.Node{}, "", nil, envError(fmt.Errorf("bench broker: %w", err))
	}
	stop = func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		_ = br.Stop(sctx)
		_ = os.RemoveAll(dir)
	}
	return br.Nodes()[0], dir, stop, nil
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
			node, _, stop, err := benchBroker(ctx, st, &bf)
			if err != nil {
				return err
			}
			direct := node.AMQPURL
			defer stop()
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

// micros is d in microseconds.
func micros(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

// rates lists each measurement's msg/s.
func rates[R interface{ Rate() float64 }](rs []R) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("%.0f", r.Rate())
	}
	return strings.Join(parts, " ")
}

func newBenchHopCmd(st *state) *cobra.Command {
	var (
		messages, rounds int
		bf               brokerFlags
	)
	cmd := &cobra.Command{
		Use:   "hop",
		Short: "Raw publish→consume msg/s against one protected messaging hop, and their ratio",
		Long: `Measure what one protected messaging hop costs, raw and hop in the same run
on the same broker.

A hop is what every Ticketflow service does with each message it handles:
consume it from a queue, check the inbox (deduplication), run the handler in
one database transaction that writes its effect and an outbox row, relay
the outbox row with publisher confirms to the next queue, then ack, with
tracing on. The bench preloads --messages messages into a queue (not timed)
and times a system/messaging bus with every protection on until all of them
arrived in the next queue.

Raw is plain amqp091 on one connection: persistent confirmed publishes
(window 256) consumed with prefetch 200 and manual acks, the same
512-byte bodies.

Rounds run raw then hop; the medians and their ratio (hop / raw) are
printed (target: at least 0.3; scenarios/README.md records measurements).
Each side's CPU a message is printed too, this process's plus the private
node's, and their ratio (raw / hop): on a machine other work keeps busy,
the msg/s ratio moves with that load, the CPU ratio much less.

A private RabbitMQ node is started for the run unless --amqp-url is given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if messages < 1 || rounds < 1 {
				return usageErrorf("--messages and --rounds must be positive")
			}
			ctx := cmd.Context()
			node, dir, stop, err := benchBroker(ctx, st, &bf)
			if err != nil {
				return err
			}
			defer stop()
			progress := func(side benchhop.Side, round, n int) {
				fmt.Fprintf(st.stderr, "\r%-3s round %d/%d: %6d/%d messages", side, round, rounds, n, messages)
				if n == messages {
					fmt.Fprintln(st.stderr)
				}
			}
			// Warnings only unless --log-level was given: the progress lines
			// and the figures are what the user reads.
			cfg := benchhop.Config{AMQPURL: node.AMQPURL, Messages: messages, Dir: dir, Log: runLogger(cmd, st), BrokerPID: node.PID}
			c, err := benchhop.Compare(ctx, cfg, rounds, progress)
			if err != nil {
				fmt.Fprintln(st.stderr)
				return err
			}
			fmt.Fprintf(st.stdout, "bench hop: %d persistent %d-byte messages per round; median of %d rounds\n", messages, len(benchhop.Body), rounds)
			fmt.Fprintf(st.stdout, "raw        %8.0f msg/s   (rounds: %s)\n", c.RawRate, rates(c.Raw))
			fmt.Fprintf(st.stdout, "hop        %8.0f msg/s   (rounds: %s; inbox, outbox, confirms, tracing)\n", c.HopRate, rates(c.Hop))
			fmt.Fprintf(st.stdout, "ratio      %8.2f         (hop / raw; target at least 0.3)\n", c.Ratio)
			broker := "this process"
			if node.PID > 0 {
				broker = "this process + the broker node"
			}
			fmt.Fprintf(st.stdout, "cpu        %8.0f µs/msg raw, %.0f µs/msg hop (%s; medians)\n", micros(c.RawCPU), micros(c.HopCPU), broker)
			if node.PID > 0 {
				rp, rb := benchhop.MedianSplit(c.Raw)
				hp, hb := benchhop.MedianSplit(c.Hop)
				fmt.Fprintf(st.stdout, "cpu split  raw %.0f + %.0f µs/msg, hop %.0f + %.0f µs/msg (this process + the broker node; medians)\n", micros(rp), micros(rb), micros(hp), micros(hb))
			}
			fmt.Fprintf(st.stdout, "cpu ratio  %8.2f         (raw / hop CPU a message: the ratio where CPU is the limit; other load moves it less than the msg/s ratio)\n", c.CPURatio)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&messages, "messages", 20000, "messages per round and side")
	f.IntVar(&rounds, "rounds", 3, "rounds (raw then hop); the median of each side is reported")
	bf.bind(cmd, false)
	bf.nodes = 1
	return cmd
}

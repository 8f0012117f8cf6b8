package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ticketflow-lab/tflab/internal/broker"
	"github.com/ticketflow-lab/tflab/internal/jaeger"
	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/internal/rabbitnode"
	"github.com/ticketflow-lab/tflab/scenarios/sut"
)

// rabbitBinDirEnv points the rabbitmq-server locator at one folder.
const rabbitBinDirEnv = "TFLAB_RABBITMQ_BIN_DIR"

// envError gives the errors a user fixes in the environment exit code 3.
func envError(err error) error {
	for _, target := range []error{rabbitnode.ErrNotInstalled, broker.ErrNoDocker, broker.ErrUnreachable, broker.ErrVHostInUse, lab.ErrPortInUse} {
		if errors.Is(err, target) {
			return withCode(ExitEnvironment, err)
		}
	}
	return err
}

// brokerFlags are the broker choices shared by up and bench.
type brokerFlags struct {
	amqpURL, managementURL string
	kind                   string
	nodes                  int
	// queueType and partitionHandling are lab settings (bindLab).
	queueType, partitionHandling string
}

// bindLab registers the lab's queue type and partition handling flags (up,
// run, suite).
func (f *brokerFlags) bindLab(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.queueType, "queue-type", broker.QueueClassic,
		"queue type: classic, mirrored (classic with an ha-mode all policy; private broker) or quorum")
	cmd.Flags().StringVar(&f.partitionHandling, "partition-handling", "",
		"private broker: cluster_partition_handling of every node, pause_minority, autoheal or ignore (default RabbitMQ's, ignore)")
}

// labSettings checks the lab flags and returns queue type and partition handling.
func (f *brokerFlags) labSettings() (string, string, error) {
	if err := broker.ValidQueueType(f.queueType); err != nil {
		return "", "", usageErrorf("--queue-type: %v", err)
	}
	if err := rabbitnode.ValidPartitionHandling(f.partitionHandling); err != nil {
		return "", "", usageErrorf("--partition-handling: %v", err)
	}
	return f.queueType, f.partitionHandling, nil
}

func (f *brokerFlags) bind(cmd *cobra.Command, withNodes bool) {
	cmd.Flags().StringVar(&f.amqpURL, "amqp-url", "", "use this external broker instead of starting one (amqp://user:pass@host:port/vhost)")
	cmd.Flags().StringVar(&f.managementURL, "management-url", "", "the external broker's management URL (optional, with --amqp-url)")
	cmd.Flags().StringVar(&f.kind, "broker", "private", "broker to start: private (a node from the installed rabbitmq-server) or container (testcontainers, needs Docker)")
	if withNodes {
		cmd.Flags().IntVar(&f.nodes, "nodes", 1, "number of clustered broker nodes (private or container broker)")
	}
}

// provider turns the flags into a broker provider. fixed asks a single
// private node for the fixed ports.
func (f *brokerFlags) provider(st *state, nodeName string, fixed bool) (broker.Provider, error) {
	if f.nodes < 1 || f.nodes > 9 {
		return nil, usageErrorf("--nodes %d: want 1 to 9", f.nodes)
	}
	if f.amqpURL != "" {
		if f.nodes > 1 || f.kind != "private" {
			return nil, usageErrorf("--amqp-url uses an external broker: drop --nodes and --broker")
		}
		if _, err := broker.HostPort(f.amqpURL); err != nil {
			return nil, usageErrorf("--amqp-url: %v", err)
		}
		return broker.External{AMQPURL: f.amqpURL, ManagementURL: f.managementURL}, nil
	}
	if f.managementURL != "" {
		return nil, usageErrorf("--management-url goes with --amqp-url")
	}
	switch f.kind {
	case "container":
		return broker.Container{Nodes: f.nodes, Log: st.logger()}, nil
	case "private":
		install, err := rabbitnode.Locate(st.getenv(rabbitBinDirEnv))
		if err != nil {
			return nil, envError(err)
		}
		p := broker.Private{NodeName: nodeName, Nodes: f.nodes, Install: install, Log: st.logger()}
		if fixed && f.nodes == 1 {
			p.AMQPPort, p.ManagementPort = lab.FixedPorts.BrokerAMQP, lab.FixedPorts.BrokerManagement
			if err := lab.CheckPortsFree(p.AMQPPort, p.ManagementPort); err != nil {
				return nil, envError(err)
			}
		}
		return p, nil
	default:
		return nil, usageErrorf("--broker %q: want private or container", f.kind)
	}
}

func newUpCmd(st *state) *cobra.Command {
	var (
		sysName, ports, runDir, toxiAddr string
		profile                          string
		consoleAddr                      string
		otlp                             string
		withJaeger                       bool
		bf                               brokerFlags
		seed                             int64
		healthTimeout                    time.Duration
		scale                            map[string]int
	)
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Bring the lab up in the foreground: broker, Toxiproxy, one proxy and one process per service",
		Long: `Bring the lab up and keep it running until Ctrl-C or SIGTERM ('tflab down'
from another terminal), then stop the services, the proxies and the broker.

The broker is a private RabbitMQ node started from the installed
rabbitmq-server (--nodes N for a cluster), an external broker (--amqp-url),
or a container (--broker container, needs Docker). Toxiproxy's API is served
on 127.0.0.1; every service instance reaches the broker through its own
proxy named <service>-amqp (<service>-N-amqp for instance N).

--ports fixed uses Toxiproxy 8474, broker 21672 (management 21673), services'
HTTP from 21101 and proxies from 21201; --ports random picks free ports, so
several labs can run at once. --profile course starts Ticketflow as the
course's starting point (every protection off, failing messages requeued
forever, the SLA quirks); toggles switch one quirk at a time
(--profile fixed,reminders-at-once). Everything lands in the run directory runs/<time>-<system>/:
lab.json, logs/, traces/, db/.

Spans always go to traces/; --otlp URL (or $OTEL_EXPORTER_OTLP_ENDPOINT) also
exports them over OTLP/HTTP. --jaeger starts a Jaeger all-in-one ('make jaeger'
builds it into bin/) on 4318/16686 (free ports with --ports random) and
exports to it; status shows both endpoints.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			begin := time.Now()
			sys, err := lookupSystem("--system", sysName)
			if err != nil {
				return err
			}
			if ports != string(lab.PortsFixed) && ports != string(lab.PortsRandom) {
				return usageErrorf("--ports %q: want fixed or random", ports)
			}
			specs, err := serviceSpecs(sys, scale)
			if err != nil {
				return err
			}
			if err := applyProfile(sys, profile, specs); err != nil {
				return err
			}
			prov, err := bf.provider(st, fmt.Sprintf("tflab%d", os.Getpid()), ports == string(lab.PortsFixed))
			if err != nil {
				return err
			}
			queueType, partitions, err := bf.labSettings()
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("seed") {
				seed = time.Now().UnixNano()
			}
			if runDir == "" {
				if runDir, err = lab.NewRunDir(runsRoot, sysName, time.Now()); err != nil {
					return err
				}
			}
			exe, err := os.Executable()
			if err != nil {
				return fmt.Errorf("find the tflab binary: %w", err)
			}
			log := st.logger()
			removeStaleTables(log)
			traces, err := startTraces(cmd.Context(), st, otlp, withJaeger, filepath.Dir(exe), runDir, ports == string(lab.PortsFixed), log)
			if err != nil {
				return err
			}
			defer traces.stop(context.WithoutCancel(cmd.Context()), log)
			log.Info("Starting lab", "system", sysName, "profile", cmp.Or(profile, "default"), "broker", prov.Name(), "run_dir", runDir, "seed", seed)
			l, err := lab.Start(cmd.Context(), lab.Config{
				OTLP:              traces.otlp,
				TraceUI:           traces.ui,
				System:            sysName,
				Note:              sys.Note,
				Services:          specs,
				Broker:            prov,
				QueueType:         queueType,
				PartitionHandling: partitions,
				Ports:             lab.PortMode(ports),
				ToxiproxyAddr:     toxiAddr,
				RunDir:            runDir,
				Command:           []string{exe, "--log-level=" + strings.ToLower(st.logLevel.String()), "serve"},
				Seed:              seed,
				Log:               log,
			})
			if err != nil {
				if cmd.Context().Err() != nil {
					return fmt.Errorf("lab up interrupted before it was ready; everything it had started is stopped (run dir %s)", shortPath(runDir))
				}
				return envError(fmt.Errorf("lab up: %w", err))
			}
			stop := func() error {
				ctx, cancel := context.WithTimeout(context.WithoutCancel(cmd.Context()), 2*time.Minute)
				defer cancel()
				return l.Stop(ctx)
			}
			hctx, cancel := context.WithTimeout(cmd.Context(), healthTimeout)
			err = l.WaitHealthy(hctx)
			cancel()
			if err != nil {
				if cmd.Context().Err() != nil {
					err = errors.New("interrupted before every service was healthy")
				}
				return errors.Join(fmt.Errorf("lab up: %w", err), stop())
			}
			var cons *labConsole
			if consoleAddr != "off" {
				if cons, err = startConsole(l, consoleAddr, ports, bf, log); err != nil {
					return errors.Join(fmt.Errorf("lab console: %w", err), stop())
				}
				stopLab := stop
				stop = func() error {
					ctx, cancel := context.WithTimeout(context.WithoutCancel(cmd.Context()), time.Minute)
					defer cancel()
					return errors.Join(cons.Close(ctx), stopLab()) // heal the console's faults first
				}
			}
			fmt.Fprintf(st.stdout, "Ticketflow Lab is up: every component healthy %.1fs after start.\n", time.Since(begin).Seconds())
			printLab(st.stdout, l.Status(cmd.Context()))
			if sysName == "ticketflow" {
				fmt.Fprintln(st.stdout, "Drive it from another terminal: tflab load --inquiries 50 --rate 10 --languages en,pl,de")
			}
			fmt.Fprintln(st.stdout, "Stop with Ctrl-C, or run 'tflab down' in another terminal.")
			watchBroker(cmd.Context(), l, log)
			<-cmd.Context().Done()
			log.Info("Stopping lab: services, then proxies, then broker")
			if err := stop(); err != nil {
				return fmt.Errorf("lab down: %w", err)
			}
			fmt.Fprintf(st.stdout, "Lab stopped; its run directory stays: %s\n", shortPath(l.RunDir()))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&sysName, "system", "ticketflow", "system under test ("+systemNames()+")")
	f.StringVar(&ports, "ports", string(lab.PortsFixed), "fixed (well-known ports) or random (free ports; several labs at once)")
	f.StringVar(&runDir, "run-dir", "", "run directory (default: runs/<time>-<system>)")
	f.StringVar(&toxiAddr, "toxiproxy-addr", "", "Toxiproxy API address (default 127.0.0.1:8474, or a free port with --ports random)")
	f.StringVar(&consoleAddr, "console", "", "web console address on loopback (default 127.0.0.1:21080, or a free port with --ports random; off: none)")
	f.Int64Var(&seed, "seed", 0, "seed for every random choice (default: from the clock; recorded in lab.json)")
	f.DurationVar(&healthTimeout, "health-timeout", 60*time.Second, "how long to wait for every service to report healthy")
	f.StringVar(&profile, "profile", "", "system variant: a profile (fixed = default, course = the course's starting point: every protection off) or toggles, comma-separated, e.g. fixed,reminders-at-once")
	f.StringToIntVar(&scale, "scale", nil, "instances per service, e.g. --scale sla=2 (instance 2 is named sla-2); --instances is the same flag")
	// --instances is the and the course's name for --scale.
	f.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if name == "instances" {
			name = "scale"
		}
		return pflag.NormalizedName(name)
	})
	f.StringVar(&otlp, "otlp", "", "export every service's spans to this OTLP/HTTP endpoint, e.g. http://127.0.0.1:4318 (default: $OTEL_EXPORTER_OTLP_ENDPOINT)")
	f.BoolVar(&withJaeger, "jaeger", false, "start a Jaeger all-in-one (bin/jaeger, from 'make jaeger') beside the lab and export spans to it")
	bf.bind(cmd, true)
	bf.bindLab(cmd)
	return cmd
}

// jaegerBinEnv names the Jaeger binary for --jaeger (default: see
// jaeger.Locate).
const jaegerBinEnv = "TFLAB_JAEGER_BIN"

// traceSink is where a lab's spans go besides the span files.
type traceSink struct {
	otlp, ui string
	jaeger   *jaeger.Jaeger
}

// startTraces resolves --otlp (or $OTEL_EXPORTER_OTLP_ENDPOINT) and
// --jaeger; with --jaeger it starts Jaeger ($TFLAB_JAEGER_BIN, or see
// jaeger.Locate) under runDir/jaeger.
func startTraces(ctx context.Context, st *state, otlp string, withJaeger bool, exeDir, runDir string, fixed bool, log *slog.Logger) (*traceSink, error) {
	if otlp == "" {
		otlp = st.getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
	}
	if !withJaeger {
		if otlp != "" {
			if u, err := url.Parse(otlp); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return nil, usageErrorf("--otlp %q: want an http(s) URL such as http://127.0.0.1:4318", otlp)
			}
		}
		return &traceSink{otlp: otlp}, nil
	}
	if otlp != "" {
		return nil, usageErrorf("--jaeger starts its own OTLP endpoint: drop --otlp (and OTEL_EXPORTER_OTLP_ENDPOINT)")
	}
	bin := st.getenv(jaegerBinEnv)
	if bin == "" {
		var err error
		if bin, err = jaeger.Locate(exeDir); err != nil {
			return nil, withCode(ExitEnvironment, err)
		}
	} else if _, err := os.Stat(bin); err != nil {
		return nil, withCode(ExitEnvironment, fmt.Errorf("%s=%s: %w", jaegerBinEnv, bin, jaeger.ErrNotBuilt))
	}
	cfg := jaeger.Config{Binary: bin, Dir: filepath.Join(runDir, "jaeger"), Log: log}
	if fixed {
		cfg.OTLPPort, cfg.QueryPort = jaeger.FixedOTLPPort, jaeger.FixedQueryPort
		if err := lab.CheckPortsFree(cfg.OTLPPort, cfg.QueryPort); err != nil {
			return nil, envError(err)
		}
	}
	j, err := jaeger.Start(ctx, cfg)
	if err != nil {
		return nil, withCode(ExitEnvironment, err)
	}
	return &traceSink{otlp: j.OTLPEndpoint(), ui: j.QueryURL(), jaeger: j}, nil
}

// stop stops Jaeger if it was started (after the lab, so the services'
// last spans are in).
func (t *traceSink) stop(ctx context.Context, log *slog.Logger) {
	if t.jaeger == nil {
		return
	}
	if err := t.jaeger.Stop(ctx); err != nil {
		log.Warn("Stopping Jaeger", "err", err)
	}
}

// serviceSpecs lists the system's services with their instance counts.
func serviceSpecs(sys sut.System, scale map[string]int) ([]lab.ServiceSpec, error) {
	var specs []lab.ServiceSpec
	known := map[string]bool{}
	for _, s := range sys.Services {
		known[s.Name] = true
		n := max(s.Instances, 1)
		if v, ok := scale[s.Name]; ok {
			n = v
		}
		if n < 1 || n > 9 {
			return nil, usageErrorf("--scale %s=%d: want 1 to 9", s.Name, n)
		}
		specs = append(specs, lab.ServiceSpec{Name: s.Name, Instances: n, HTTPPort: s.Port, Needs: maps.Clone(s.Needs)})
	}
	for name := range scale {
		if !known[name] {
			return nil, usageErrorf("--scale %s: no such service", name)
		}
	}
	return specs, nil
}

// watchBroker logs when a private broker node exits while the lab runs.
func watchBroker(ctx context.Context, l *lab.Lab, log *slog.Logger) {
	pb, ok := l.Broker().(*broker.PrivateBroker)
	if !ok {
		return
	}
	for _, n := range pb.RabbitNodes() {
		go func() {
			select {
			case <-n.Exited():
				log.Error("Broker node exited", "node", n.Name(), "log", filepath.Join(n.LogDir(), "console.log"))
			case <-ctx.Done():
			}
		}()
	}
}

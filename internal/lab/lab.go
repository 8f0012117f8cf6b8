package lab

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ticketflow-lab/tflab/anomalies/amqpproxy"
	"github.com/ticketflow-lab/tflab/internal/broker"
	"github.com/ticketflow-lab/tflab/internal/freeport"
	"github.com/ticketflow-lab/tflab/internal/rabbitnode"
	"github.com/ticketflow-lab/tflab/internal/supervisor"
	"github.com/ticketflow-lab/tflab/internal/toxihost"
	"github.com/ticketflow-lab/tflab/system/service"
)

// ErrPortInUse reports that a fixed port is taken.
var ErrPortInUse = errors.New("port in use")

// PortMode chooses how ports are picked.
type PortMode string

const (
	PortsFixed  PortMode = "fixed"
	PortsRandom PortMode = "random"
)

// FixedPorts is the port plan of PortsFixed. Service instance i (0-based, in
// the order of Config.Services) gets ServiceHTTP+i and ServiceProxy+i. The
// broker's ports are not RabbitMQ's usual 5672/15672 on purpose: installing
// Debian's rabbitmq-server also starts a system node on those.
var FixedPorts = struct {
	Toxiproxy, BrokerAMQP, BrokerManagement, ServiceHTTP, ServiceProxy, LabAPI int
}{8474, 21672, 21673, 21101, 21201, 21000}

// ServiceSpec is one service of the system and how many instances to run.
type ServiceSpec struct {
	Name      string
	Instances int // 0 means 1
	// HTTPPort, when set, is the HTTP port of instance 1 under PortsFixed
	// (instance n gets HTTPPort+n-1), e.g. Ticketflow's original ports;
	// 0 takes FixedPorts.ServiceHTTP+i. Ignored under PortsRandom.
	HTTPPort  int
	Settings  map[string]string
	Unprotect []string
	// Needs maps a setting to the service whose HTTP base URL the lab
	// gives every instance under it (instance 1's), e.g. "gateway-url" →
	// "gateway"; a value in Settings wins.
	Needs map[string]string
}

// Config describes a lab.
type Config struct {
	// System is the system under test, e.g. "ticketflow".
	System string
	// Note is shown in status (e.g. that a system runs a placeholder only).
	Note     string
	Services []ServiceSpec
	Broker   broker.Provider
	// QueueType is broker.QueueClassic (""), QueueMirrored or QueueQuorum.
	// Services declare quorum queues for quorum; a private broker gets the
	// mirroring policy for mirrored (other providers refuse mirrored).
	QueueType string
	// PartitionHandling is the cluster_partition_handling of a private
	// broker's nodes (rabbitnode.PartitionHandlings; "" keeps ignore).
	PartitionHandling string
	Ports             PortMode
	// ToxiproxyAddr overrides the API address (default 127.0.0.1:8474 for
	// fixed ports, 127.0.0.1:0 for random).
	ToxiproxyAddr string
	// APIAddr overrides the lab control API's address (default
	// 127.0.0.1:21000 for fixed ports, 127.0.0.1:0 for random).
	APIAddr string
	// RunDir is the run directory (created if missing).
	RunDir string
	// Command is the argv prefix that starts a service; the service's
	// Config.Args() is appended. Typically [tflab, "--log-level=info", "serve"].
	Command []string
	// Env for the service processes; nil inherits.
	Env  []string
	Seed int64
	// OTLP, when set, is the OTLP/HTTP endpoint every service exports its
	// spans to (OTEL_EXPORTER_OTLP_ENDPOINT in the services' environment).
	OTLP string
	// TraceUI is the base URL of a trace viewer that receives the spans
	// (e.g. a Jaeger query API), shown in status; "" for none.
	TraceUI string
	// StopGrace is how long a service gets after SIGTERM (default 5 s).
	StopGrace time.Duration
	Log       *slog.Logger
}

// Validate reports every problem with the config.
func (c Config) Validate() error {
	var errs []error
	if c.System == "" {
		errs = append(errs, errors.New("lab: system must be set"))
	}
	if len(c.Services) == 0 {
		errs = append(errs, errors.New("lab: no services"))
	}
	seen := map[string]bool{}
	for _, s := range c.Services {
		if s.Name == "" || seen[s.Name] {
			errs = append(errs, fmt.Errorf("lab: service name %q empty or repeated", s.Name))
		}
		seen[s.Name] = true
		if s.Instances < 0 || s.Instances > 9 {
			errs = append(errs, fmt.Errorf("lab: service %s: %d instances, want 1 to 9", s.Name, s.Instances))
		}
	}
	for _, s := range c.Services {
		for _, setting := range slices.Sorted(maps.Keys(s.Needs)) {
			if need := s.Needs[setting]; !seen[need] {
				errs = append(errs, fmt.Errorf("lab: service %s: setting %s needs service %q, which the lab does not run", s.Name, setting, need))
			}
		}
	}
	if c.Broker == nil {
		errs = append(errs, errors.New("lab: broker provider must be set"))
	}
	if err := broker.ValidQueueType(c.QueueType); err != nil {
		errs = append(errs, fmt.Errorf("lab: %w", err))
	}
	if err := rabbitnode.ValidPartitionHandling(c.PartitionHandling); err != nil {
		errs = append(errs, fmt.Errorf("lab: %w", err))
	}
	if _, private := c.Broker.(broker.Private); c.Broker != nil && !private &&
		(c.QueueType == broker.QueueMirrored || c.PartitionHandling != "") {
		errs = append(errs, fmt.Errorf("lab: mirrored queues and partition handling need a private broker, not %s", c.Broker.Name()))
	}
	if c.Ports != PortsFixed && c.Ports != PortsRandom {
		errs = append(errs, fmt.Errorf("lab: ports %q: want fixed or random", c.Ports))
	}
	if c.RunDir == "" {
		errs = append(errs, errors.New("lab: run dir must be set"))
	}
	if len(c.Command) == 0 {
		errs = append(errs, errors.New("lab: service command must be set"))
	}
	return errors.Join(errs...)
}

// Lab is a running lab.
type Lab struct {
	cfg    Config
	layout Layout
	base   *slog.Logger // the caller's logger
	log    *slog.Logger
	broker broker.Broker
	toxi   *toxihost.Host
	sup    *supervisor.Supervisor
	// msg holds each instance's message-fault proxy (set once by wire).
	msg    map[string]*amqpproxy.Proxy
	faults *faultLog
	api    *http.Server

	mu   sync.Mutex // guards info and lab.json writes
	info Info

	stopOnce sync.Once
	stopErr  error
}

// instance is one planned service process.
type instance struct {
	cfg   service.Config
	proxy string
	// httpPort and proxyListen are fixed or chosen free.
	httpPort    int
	proxyListen string
	// fixedHTTP is the service's own fixed HTTP port (0 = generic plan).
	fixedHTTP int
	// needs is the spec's Needs (setting → service).
	needs map[string]string
}

// Start brings the lab up: broker (booting while Toxiproxy starts and the
// run directory is prepared), one proxy per service instance, the services.
// It does not wait for the services to be healthy (see WaitHealthy). On
// error everything already started is stopped.
func Start(ctx context.Context, cfg Config) (*Lab, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if p, ok := cfg.Broker.(broker.Private); ok {
		p.QueueType, p.PartitionHandling = cfg.QueueType, cfg.PartitionHandling
		cfg.Broker = p
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	layout, err := newLayout(cfg.RunDir)
	if err != nil {
		return nil, err
	}
	runDir := layout.Dir
	if err := layout.create(); err != nil {
		return nil, err
	}
	plan, err := planInstances(cfg, layout)
	if err != nil {
		return nil, err
	}
	if cfg.OTLP != "" {
		env := cfg.Env
		if env == nil {
			env = os.Environ()
		}
		cfg.Env = append(env[:len(env):len(env)], "OTEL_EXPORTER_OTLP_ENDPOINT="+cfg.OTLP)
	}
	l := &Lab{cfg: cfg, layout: layout, base: log, log: log.With("component", "lab"), msg: map[string]*amqpproxy.Proxy{}}
	if l.faults, err = openFaultLog(layout.MessageFaults(), l.log); err != nil {
		return nil, err
	}
	_, ticks, _ := procStat(os.Getpid())
	l.info = Info{
		System: cfg.System, Note: cfg.Note, RunDir: runDir, Running: true,
		ControlPID: os.Getpid(), ControlStartTicks: ticks, Seed: cfg.Seed, Ports: string(cfg.Ports),
		StartedAt: time.Now().UTC(), Services: map[string]ServiceInfo{},
		Broker: BrokerInfo{Provider: cfg.Broker.Name()},
		OTLP:   cfg.OTLP, TraceUI: cfg.TraceUI,
	}
	l.info.Broker.QueueType, l.info.Broker.PartitionHandling = cmp.Or(cfg.QueueType, broker.QueueClassic), cfg.PartitionHandling

	type started struct {
		b   broker.Broker
		err error
	}
	brokerCh := make(chan started, 1)
	bootCtx, cancelBoot := context.WithCancel(ctx)
	defer cancelBoot()
	go func() {
		b, err := cfg.Broker.Start(bootCtx, layout.Broker())
		brokerCh <- started{b, err}
	}()
	toxiAddr := cfg.ToxiproxyAddr
	if toxiAddr == "" {
		toxiAddr = "127.0.0.1:0"
		if cfg.Ports == PortsFixed {
			toxiAddr = "127.0.0.1:" + strconv.Itoa(FixedPorts.Toxiproxy)
		}
	}
	l.toxi, err = toxihost.Start(toxiAddr, log)
	if err != nil {
		cancelBoot() // no lab without Toxiproxy: do not wait for the boot
	}
	res := <-brokerCh
	l.broker = res.b
	if err == nil {
		err = res.err
	}
	if err != nil {
		return nil, errors.Join(err, l.Stop(context.WithoutCancel(ctx)))
	}
	l.info.Toxiproxy = l.toxi.URL()
	if err := l.startAPI(); err != nil {
		return nil, errors.Join(err, l.Stop(context.WithoutCancel(ctx)))
	}
	if err := l.wire(ctx, plan); err != nil {
		return nil, errors.Join(err, l.Stop(context.WithoutCancel(ctx)))
	}
	return l, nil
}

// newLayout is the layout of runDir made absolute, so that every path
// handed to the broker and the services holds from their working
// directories too.
func newLayout(runDir string) (Layout, error) {
	abs, err := filepath.Abs(runDir)
	if err != nil {
		return Layout{}, fmt.Errorf("run dir: %w", err)
	}
	return Layout{abs}, nil
}

// planInstances names every instance and gives it ports and file paths.
func planInstances(cfg Config, layout Layout) ([]*instance, error) {
	var plan []*instance
	for _, s := range cfg.Services {
		for n := 1; n <= max(s.Instances, 1); n++ {
			id := service.InstanceID(s.Name, n)
			fixedHTTP := 0
			if s.HTTPPort > 0 {
				fixedHTTP = s.HTTPPort + n - 1
			}
			plan = append(plan, &instance{
				fixedHTTP: fixedHTTP,
				proxy:     id + "-amqp",
				cfg: service.Config{
					System: cfg.System, Name: s.Name, Instance: n,
					// One database per service, shared by its instances
					// (see the package doc).
					DBPath: layout.DBFile(s.Name), SpanFile: layout.SpanFile(id), LogFile: layout.ServiceLog(id),
					RunDir: layout.Dir, Seed: cfg.Seed,
					Unprotect: slices.Clone(s.Unprotect), Settings: maps.Clone(s.Settings),
				},
				needs: s.Needs,
			})
		}
	}
	var ports []int
	for i, in := range plan {
		if cfg.Ports == PortsFixed {
			in.httpPort = FixedPorts.ServiceHTTP + i
			if in.fixedHTTP > 0 {
				in.httpPort = in.fixedHTTP
			}
			in.proxyListen = "127.0.0.1:" + strconv.Itoa(FixedPorts.ServiceProxy+i)
			ports = append(ports, in.httpPort, FixedPorts.ServiceProxy+i)
			continue
		}
		// Random HTTP ports are chosen in wire (reserveHTTPPorts), once the
		// broker listens, so no port is handed out twice.
		in.proxyListen = "127.0.0.1:0"
	}
	if err := CheckPortsFree(ports...); err != nil {
		return nil, err
	}
	if cfg.Ports == PortsFixed {
		setPeers(plan)
	}
	return plan, nil
}

// absolutePaths returns an error naming every file path of a service's
// command line that is relative: the service would resolve it against its
// own working directory, not the lab's.
func absolutePaths(c service.Config) error {
	var errs []error
	for _, p := range []struct{ what, path string }{
		{"db path", c.DBPath}, {"span file", c.SpanFile}, {"log file", c.LogFile}, {"run dir", c.RunDir},
	} {
		if p.path != "" && !filepath.IsAbs(p.path) {
			errs = append(errs, fmt.Errorf("%s %q is relative: child processes need absolute paths", p.what, p.path))
		}
	}
	return errors.Join(errs...)
}

// reserveHTTPPorts gives every instance a free HTTP port and holds each one
// open until release is called, right before the services start: a port
// merely found free could otherwise be taken meanwhile by a proxy listening
// on port 0 (a service once got its neighbour's Toxiproxy port and its
// health checks went to the broker).
func reserveHTTPPorts(plan []*instance) (release func(), err error) {
	var held []net.Listener
	release = func() {
		for _, ln := range held {
			_ = ln.Close()
		}
		held = nil
	}
	for _, in := range plan {
		// Not port 0: that draws from the ephemeral range, where any
		// outgoing connection may take the port between release and the
		// service's bind (see package freeport).
		// A port found free can be taken before the listen here by
		// another process (or a lab beside this one in a suite): try
		// another port a few times.
		var ln net.Listener
		for attempt := 0; ln == nil; attempt++ {
			p, err := freeport.Get()
			if err != nil {
				release()
				return func() {}, fmt.Errorf("reserve an HTTP port: %w", err)
			}
			ln, err = net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
			if err != nil && attempt == 4 {
				release()
				return func() {}, fmt.Errorf("reserve an HTTP port (5 tries): %w", err)
			}
		}
		held = append(held, ln)
		in.httpPort = ln.Addr().(*net.TCPAddr).Port
	}
	setPeers(plan)
	return release, nil
}

// setPeers tells every instance where the first instance of every service
// answers HTTP (for services that call each other, e.g. a sync contrast
// flow), under PeerSetting and under each setting its spec Needs, unless
// the spec set the key itself.
func setPeers(plan []*instance) {
	first := map[string]string{}
	for _, peer := range plan {
		if peer.cfg.Instance == 1 {
			first[peer.cfg.Name] = "http://127.0.0.1:" + strconv.Itoa(peer.httpPort)
		}
	}
	for _, in := range plan {
		keys := map[string]string{}
		for name := range first {
			keys[PeerSetting(name)] = name
		}
		maps.Copy(keys, in.needs)
		for key, name := range keys {
			url, ok := first[name]
			if !ok {
				continue // Config.Validate refuses a need the lab does not run
			}
			if _, set := in.cfg.Settings[key]; set {
				continue
			}
			if in.cfg.Settings == nil {
				in.cfg.Settings = map[string]string{}
			}
			in.cfg.Settings[key] = url
		}
	}
}

// PeerSetting is the service setting under which every instance finds the
// HTTP base URL of instance 1 of service name, e.g. peer-tickets-url =
// http://127.0.0.1:5112.
func PeerSetting(name string) string { return "peer-" + name + "-url" }

// CheckPortsFree returns an error wrapping ErrPortInUse naming every port
// on 127.0.0.1 that cannot be listened on now.
func CheckPortsFree(ports ...int) error {
	var busy []string
	for _, p := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			busy = append(busy, strconv.Itoa(p))
			continue
		}
		_ = ln.Close()
	}
	if len(busy) > 0 {
		return fmt.Errorf("%w: 127.0.0.1 port(s) %s (another lab or broker running? stop it with 'tflab down' or use --ports random)", ErrPortInUse, strings.Join(busy, ", "))
	}
	return nil
}

// wire records the broker, adds the proxies and starts the services.
func (l *Lab) wire(ctx context.Context, plan []*instance) error {
	nodes := l.broker.Nodes()
	l.mu.Lock()
	l.info.Broker.AMQP, l.info.Broker.Management, l.info.Broker.PID = nodes[0].AMQPURL, nodes[0].ManagementURL, nodes[0].PID
	for i, n := range nodes {
		l.info.Broker.Nodes = append(l.info.Broker.Nodes, NodeInfo{Name: n.Name, AMQP: n.AMQPURL, Management: n.ManagementURL, PID: n.PID, LogDir: n.LogDir})
		if n.LogDir != "" {
			link := filepath.Join(l.layout.Logs(), "broker")
			if len(nodes) > 1 {
				link += "-" + strconv.Itoa(i+1)
			}
			if rel, err := filepath.Rel(l.layout.Logs(), n.LogDir); err == nil {
				_ = os.Symlink(rel, link)
			}
		}
	}
	l.mu.Unlock()

	release := func() {}
	if l.cfg.Ports == PortsRandom {
		var err error
		if release, err = reserveHTTPPorts(plan); err != nil {
			return err
		}
	}
	defer release()
	for i, in := range plan {
		placed := i % len(nodes)
		node := nodes[placed]
		upstream, err := node.AMQPAddr()
		if err != nil {
			return err
		}
		// service ──► Toxiproxy "<id>-amqp" ──► message proxy ──► broker
		id := in.cfg.ID()
		mp, err := amqpproxy.New(amqpproxy.Config{Upstream: upstream, Log: l.base.With("service", id),
			Rand: messageRand(l.cfg.Seed, id), OnEvent: l.faults.onEvent(id)})
		if err != nil {
			return fmt.Errorf("message proxy of %s: %w", id, err)
		}
		l.mu.Lock()
		l.msg[id] = mp
		l.mu.Unlock()
		listen, err := l.toxi.AddProxy(in.proxy, in.proxyListen, mp.Addr())
		if err != nil {
			return err
		}
		if in.cfg.AMQPURL, err = broker.WithHost(node.AMQPURL, listen); err != nil {
			return err
		}
		fallbacks, err := l.addFallbacks(in, nodes, placed)
		if err != nil {
			return err
		}
		in.cfg.QueueType = broker.DeclaredType(l.cfg.QueueType)
		in.cfg.HTTPAddr = "127.0.0.1:" + strconv.Itoa(in.httpPort)
		if err := errors.Join(in.cfg.Validate(), absolutePaths(in.cfg)); err != nil {
			return fmt.Errorf("service %s: %w", in.cfg.ID(), err)
		}
		l.mu.Lock()
		l.info.Services[in.cfg.ID()] = ServiceInfo{
			Service: in.cfg.Name, Instance: in.cfg.Instance, HTTP: "http://" + in.cfg.HTTPAddr,
			AMQPProxy: listen, Proxy: in.proxy, MessageProxy: mp.Addr(), Upstream: upstream, State: string(supervisor.Exited),
			Log: in.cfg.LogFile, Spans: in.cfg.SpanFile, DB: in.cfg.DBPath,
			Node: node.Name, Fallbacks: fallbacks,
		}
		l.mu.Unlock()
	}

	l.sup = supervisor.New(supervisor.Options{StopGrace: l.cfg.StopGrace, OnEvent: l.onProcessEvent, Log: l.base})
	if err := l.writeInfo(); err != nil {
		return err
	}
	release()
	for _, in := range plan {
		args := append(slices.Clone(l.cfg.Command[1:]), in.cfg.Args()...)
		if _, err := l.sup.Start(supervisor.Spec{Name: in.cfg.ID(), Path: l.cfg.Command[0], Args: args, Env: l.cfg.Env, LogFile: in.cfg.LogFile}); err != nil {
			return err
		}
	}
	return l.writeInfo()
}

// addFallbacks gives the instance a Toxiproxy proxy "<id>-amqp-<k>" to
// every node k other than its placement, in the order placed+1, placed+2, …
// (wrapping), sets them as the service's fallback addresses and returns
// them. On one node there are none.
func (l *Lab) addFallbacks(in *instance, nodes []broker.Node, placed int) ([]FallbackInfo, error) {
	var out []FallbackInfo
	for k := 1; k < len(nodes); k++ {
		n := (placed + k) % len(nodes)
		upstream, err := nodes[n].AMQPAddr()
		if err != nil {
			return nil, err
		}
		name := fmt.Sprintf("%s-%d", in.proxy, n+1)
		listen, err := l.toxi.AddProxy(name, "127.0.0.1:0", upstream)
		if err != nil {
			return nil, err
		}
		u, err := broker.WithHost(nodes[n].AMQPURL, listen)
		if err != nil {
			return nil, err
		}
		in.cfg.AMQPFallbacks = append(in.cfg.AMQPFallbacks, u)
		out = append(out, FallbackInfo{Node: nodes[n].Name, Proxy: name, AMQPProxy: listen, Upstream: upstream})
	}
	return out, nil
}

// onProcessEvent keeps lab.json in step with the supervisor.
func (l *Lab) onProcessEvent(e supervisor.Event) {
	l.mu.Lock()
	s, ok := l.info.Services[e.Info.Name]
	if ok {
		s.PID, s.State, s.Starts = e.Info.PID, string(e.Info.State), e.Info.Starts
		if e.Info.State != supervisor.Running {
			s.Healthy = false
		}
		l.info.Services[e.Info.Name] = s
	}
	l.mu.Unlock()
	if ok {
		if err := l.writeInfo(); err != nil {
			l.log.Warn("Cannot update lab.json", "err", err)
		}
	}
}

func (l *Lab) writeInfo() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return writeInfo(l.layout.LabFile(), l.info)
}

// Info returns a copy of what lab.json holds.
func (l *Lab) Info() Info {
	l.mu.Lock()
	defer l.mu.Unlock()
	in := l.info
	in.Services = maps.Clone(l.info.Services)
	in.Broker.Nodes = slices.Clone(l.info.Broker.Nodes)
	return in
}

// Status is Info with its live fields probed now.
func (l *Lab) Status(ctx context.Context) Info { return Probe(ctx, l.Info()) }

// RunDir is the lab's run directory.
func (l *Lab) RunDir() string { return l.layout.Dir }

// Broker is the lab's broker.
func (l *Lab) Broker() broker.Broker { return l.broker }

// MessageProxy returns the message-fault proxy of service instance id
// (chained behind its Toxiproxy proxy), or nil when there is none.
func (l *Lab) MessageProxy(id string) *amqpproxy.Proxy {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.msg[id]
}

// APIURL is the lab control API's base URL ("http://127.0.0.1:PORT").
func (l *Lab) APIURL() string { return l.Info().LabAPI }

// startAPI serves the lab control API on 127.0.0.1.
func (l *Lab) startAPI() error {
	addr := l.cfg.APIAddr
	if addr == "" {
		addr = "127.0.0.1:0"
		if l.cfg.Ports == PortsFixed {
			addr = "127.0.0.1:" + strconv.Itoa(FixedPorts.LabAPI)
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if l.cfg.Ports == PortsFixed {
			return fmt.Errorf("lab API on %s: %w (%w)", addr, ErrPortInUse, err)
		}
		return fmt.Errorf("lab API on %s: %w", addr, err)
	}
	l.api = &http.Server{Handler: l.apiHandler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := l.api.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			l.log.Error("Lab API stopped", "err", err)
		}
	}()
	l.mu.Lock()
	l.info.LabAPI = "http://" + ln.Addr().String()
	l.mu.Unlock()
	l.log.Info("Lab API listening", "url", "http://"+ln.Addr().String())
	return nil
}

// Toxiproxy is the embedded Toxiproxy host.
func (l *Lab) Toxiproxy() *toxihost.Host { return l.toxi }

// Supervisor runs the service processes (kill, pause, resume, restart).
func (l *Lab) Supervisor() *supervisor.Supervisor { return l.sup }

// WaitHealthy polls every service's GET /health until all answer 200, or
// returns an error naming the unhealthy ones when ctx ends.
func (l *Lab) WaitHealthy(ctx context.Context) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		in := l.Info()
		unhealthy := map[string]error{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for id, s := range in.Services {
			wg.Go(func() {
				// A service that died (e.g. its port was taken) must not
				// pass because whoever holds its port answers /health.
				if s.PID > 0 && ProcessState(s.PID) == "exited" {
					mu.Lock()
					unhealthy[id] = fmt.Errorf("process %d exited", s.PID)
					mu.Unlock()
					return
				}
				if err := CheckHealth(ctx, s.HTTP); err != nil {
					mu.Lock()
					unhealthy[id] = err
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(unhealthy) == 0 {
			now := time.Now().UTC()
			l.mu.Lock()
			l.info.ReadyAt = &now
			l.info.Broker.Healthy, l.info.ToxiproxyHealthy = true, true
			for id, s := range l.info.Services {
				s.Healthy = true
				l.info.Services[id] = s
			}
			l.mu.Unlock()
			return l.writeInfo()
		}
		select {
		case <-ctx.Done():
			var msgs []string
			for _, id := range slices.Sorted(maps.Keys(unhealthy)) {
				msgs = append(msgs, fmt.Sprintf("%s: %v (log: %s)", id, unhealthy[id], in.Services[id].Log))
			}
			return fmt.Errorf("services not healthy: %s: %w", strings.Join(msgs, "; "), ctx.Err())
		case <-tick.C:
		}
	}
}

// Stop stops the services, then the proxies, then the broker, and marks
// lab.json stopped. It is idempotent.
func (l *Lab) Stop(ctx context.Context) error {
	l.stopOnce.Do(func() {
		var errs []error
		if l.sup != nil {
			if err := l.sup.StopAll(ctx); err != nil {
				errs = append(errs, fmt.Errorf("stop services: %w", err))
			}
		}
		if l.api != nil {
			sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			if err := l.api.Shutdown(sctx); err != nil {
				_ = l.api.Close()
			}
			cancel()
		}
		if l.toxi != nil {
			if err := l.toxi.Close(); err != nil {
				errs = append(errs, fmt.Errorf("stop toxiproxy: %w", err))
			}
		}
		l.mu.Lock()
		proxies := slices.Collect(maps.Values(l.msg))
		l.mu.Unlock()
		for _, p := range proxies {
			if err := p.Close(); err != nil {
				errs = append(errs, fmt.Errorf("stop message proxy: %w", err))
			}
		}
		if l.faults != nil {
			if err := l.faults.close(); err != nil {
				errs = append(errs, fmt.Errorf("close %s: %w", MessageFaultsFile, err))
			}
		}
		if l.broker != nil {
			if err := l.broker.Stop(ctx); err != nil {
				errs = append(errs, fmt.Errorf("stop broker: %w", err))
			}
		}
		now := time.Now().UTC()
		l.mu.Lock()
		l.info.Running, l.info.StoppedAt = false, &now
		l.info.Broker.Healthy, l.info.ToxiproxyHealthy = false, false
		for id, s := range l.info.Services {
			s.Healthy = false
			l.info.Services[id] = s
		}
		l.mu.Unlock()
		errs = append(errs, l.writeInfo())
		l.stopErr = errors.Join(errs...)
		l.log.Info("Lab stopped", "run_dir", l.layout.Dir, "err", l.stopErr)
	})
	return l.stopErr
}

package rabbitnode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ticketflow-lab/tflab/internal/freeport"
)

// ErrNotInstalled reports that no usable rabbitmq-server installation was found.
var ErrNotInstalled = errors.New("rabbitmq-server is not installed: install it with 'apt-get install -y rabbitmq-server' " +
	"(as root or through sudo; 'make run' and 'make test' do this for you), or point tflab at a broker with --amqp-url")

// DefaultSearchDirs are the folders searched for the package's own bin folder
// (the one holding rabbitmq-server next to rabbitmqctl, not the /usr/sbin wrapper).
var DefaultSearchDirs = []string{"/usr/lib/rabbitmq/bin", "/usr/local/lib/rabbitmq/bin", "/opt/rabbitmq/sbin"}

// Install is a located rabbitmq-server installation.
type Install struct {
	// BinDir holds rabbitmq-server and rabbitmqctl scripts that run as the current user.
	BinDir string
}

// Locate finds the installation. The environment variable is read by the
// caller and passed as override ("" means search DefaultSearchDirs).
func Locate(override string) (Install, error) {
	dirs := DefaultSearchDirs
	if override != "" {
		dirs = []string{override}
	}
	for _, d := range dirs {
		if isExecutable(filepath.Join(d, "rabbitmq-server")) && isExecutable(filepath.Join(d, "rabbitmqctl")) {
			return Install{BinDir: d}, nil
		}
	}
	return Install{}, fmt.Errorf("looked in %s: %w", strings.Join(dirs, ", "), ErrNotInstalled)
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// Config describes one node. Zero ports are chosen free on 127.0.0.1.
type Config struct {
	// Name is the short node name (before "@localhost"); it must be unique on the machine.
	Name string
	// Dir is the node's own directory (data, logs, config, HOME). It is created.
	Dir string
	// AMQPPort, DistPort and ManagementPort; 0 picks a free port.
	AMQPPort, DistPort, ManagementPort int
	// Management enables the management plugin (HTTP API). Default true via Validate's caller.
	Management bool
	// Install is the located installation; zero means Locate("").
	Install Install
	// StartTimeout bounds the boot; default DefaultStartTimeout.
	StartTimeout time.Duration
	// StopTimeout bounds a graceful stop before the VM is killed; default 15 s.
	StopTimeout time.Duration
	// Cookie, if set, is written as the Erlang cookie (cluster members share one).
	Cookie string
	// Disposable says the node's data is thrown away after use (a scenario
	// run's or a test binary's node): Stop kills the VM at once. A graceful
	// stop runs rabbitmqctl, a second Erlang VM, and costs about 6 s on a
	// loaded 2-core machine, which a suite of runs pays again and again.
	Disposable bool
	// PartitionHandling is cluster_partition_handling: "" (RabbitMQ's
	// default, ignore), PartitionPauseMinority or PartitionAutoheal.
	PartitionHandling string
	// Log receives lifecycle events; nil discards.
	Log *slog.Logger
	// Addr is the node's own loopback address (e.g. 127.42.17.1), which its
	// Erlang distribution listens on and connects from, so that traffic
	// between two nodes can be told apart by address. Nil: 127.0.0.1.
	Addr net.IP
	// Host is the host part of the node name ("" = localhost). A host other
	// than localhost must resolve through InetRC.
	Host string
	// InetRC is an Erlang inetrc file (ERL_INETRC) the node and every
	// rabbitmqctl call resolve host names with ("" = none).
	InetRC string
	// EpmdPort is the port of the epmd the node registers with and looks
	// other nodes up in (ERL_EPMD_PORT); 0 = the machine's epmd on 4369.
	EpmdPort int
	// Peers are node names for RabbitMQ's classic_config peer discovery: a
	// node that boots with no data of its own joins the cluster of the first
	// of them it reaches while it boots (none reached: it boots alone).
	Peers []string
}

// Validate reports what is wrong with the config.
func (c Config) Validate() error {
	var errs []error
	if c.Name == "" || strings.ContainsAny(c.Name, "@ /") {
		errs = append(errs, fmt.Errorf("node name %q: must be non-empty without '@', '/' or spaces", c.Name))
	}
	if !filepath.IsAbs(c.Dir) {
		// HOME, data, log and config paths are derived from Dir and the node
		// runs in Dir: a relative one would not resolve to the same place.
		errs = append(errs, fmt.Errorf("node dir %q: must be set and absolute", c.Dir))
	}
	if c.Addr != nil && (c.Addr.To4() == nil || !c.Addr.IsLoopback()) {
		errs = append(errs, fmt.Errorf("node address %s: must be an IPv4 loopback address (127/8)", c.Addr))
	}
	if c.Host != "" && (strings.ContainsAny(c.Host, "@ /.")) {
		errs = append(errs, fmt.Errorf("node host %q: must be a short name without '@', '/', '.' or spaces", c.Host))
	}
	for _, p := range []int{c.AMQPPort, c.DistPort, c.ManagementPort, c.EpmdPort} {
		if p < 0 || p > 65535 {
			errs = append(errs, fmt.Errorf("port %d out of range", p))
		}
	}
	errs = append(errs, ValidPartitionHandling(c.PartitionHandling))
	return errors.Join(errs...)
}

// Node is a running private RabbitMQ node.
type Node struct {
	cfg      Config
	nodeName string // name@localhost
	home     string
	env      []string
	cmd      *exec.Cmd
	log      *slog.Logger

	exited chan struct{}
	mu     sync.Mutex
	waitEr error
}

// DefaultStartTimeout bounds a node's boot: about 10 s on a quiet 2-core
// machine, more than 60 s at a load of 20 or more.
const DefaultStartTimeout = 3 * time.Minute

// Start boots a node and returns once it accepts AMQP connections.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("rabbitmq node config: %w", err)
	}
	if cfg.Install.BinDir == "" {
		in, err := Locate("")
		if err != nil {
			return nil, err
		}
		cfg.Install = in
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = DefaultStartTimeout
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = 15 * time.Second
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Ports left 0 are picked free here; another process may take one
	// between the pick and the node's bind, so a boot that dies of a taken
	// port is retried with fresh ones.
	var auto []*int
	for _, p := range []*int{&cfg.AMQPPort, &cfg.DistPort, &cfg.ManagementPort} {
		if *p == 0 {
			auto = append(auto, p)
		}
	}
	host := cfg.Host
	if host == "" {
		host = "localhost"
	}
	if cfg.Addr == nil {
		cfg.Addr = net.IPv4(127, 0, 0, 1)
	}
	name := cfg.Name + "@" + host
	for attempt := 1; ; attempt++ {
		for _, p := range auto {
			var err error
			if *p, err = FreePort(); err != nil {
				return nil, err
			}
		}
		n := &Node{cfg: cfg, nodeName: name, log: log.With("component", "rabbitnode", "node", name), exited: make(chan struct{})}
		err := n.boot(ctx)
		if err == nil {
			n.log.Info("RabbitMQ node ready", "amqp", n.AMQPURL(), "management", n.ManagementURL(), "pid", n.PID())
			return n, nil
		}
		if attempt < startAttempts && len(auto) > 0 && n.portTaken() {
			n.log.Warn("RabbitMQ node lost a port to another process during boot; retrying with fresh ports", "attempt", attempt, "err", err)
			continue
		}
		return nil, err
	}
}

// startAttempts bounds the boots Start tries when a freshly picked port
// was taken before the node could bind it.
const startAttempts = 3

// boot prepares the node's directories, launches it and waits until it is
// ready, killing it if it is not.
func (n *Node) boot(ctx context.Context) error {
	if err := n.prepare(); err != nil {
		return err
	}
	if err := n.launch(); err != nil {
		return err
	}
	bootCtx, cancel := context.WithTimeout(ctx, n.cfg.StartTimeout)
	defer cancel()
	if err := n.awaitReady(bootCtx); err != nil {
		_ = n.Kill()
		return fmt.Errorf("rabbitmq node %s did not become ready (log: %s): %w", n.nodeName, n.LogDir(), err)
	}
	return nil
}

// portTaken reports whether the node's process has exited and its logs say
// a listener could not bind its address.
func (n *Node) portTaken() bool {
	select {
	case <-n.exited:
	default:
		return false
	}
	entries, err := os.ReadDir(n.LogDir())
	if err != nil {
		return false
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(n.LogDir(), e.Name()))
		if err == nil && (bytes.Contains(b, []byte("eaddrinuse")) || bytes.Contains(b, []byte("could_not_start_listener"))) {
			return true
		}
	}
	return false
}

func (n *Node) prepare() error {
	c := n.cfg
	n.home = filepath.Join(c.Dir, "home")
	for _, d := range []string{n.home, filepath.Join(c.Dir, "mnesia"), filepath.Join(c.Dir, "log")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("prepare node dir: %w", err)
		}
	}
	// Statistics every second instead of five: the runner reads queue depths
	// and connections through the management API, which lags by this much.
	// consumer_timeout: see ConsumerTimeout.
	conf := fmt.Sprintf("listeners.tcp.default = 127.0.0.1:%d\nloopback_users = none\ncollect_statistics_interval = 1000\nconsumer_timeout = %d\n",
		c.AMQPPort, ConsumerTimeout.Milliseconds())
	conf += partitionHandlingConf(c.PartitionHandling)
	conf += peersConf(c.Peers)
	// The consistent-hash exchange is part of the original Ticketflow broker
	// (its partitioning lessons); it costs nothing at boot.
	plugins := "[rabbitmq_consistent_hash_exchange]."
	if c.Management {
		conf += fmt.Sprintf("management.tcp.port = %d\nmanagement.tcp.ip = 127.0.0.1\n", c.ManagementPort)
		plugins = "[rabbitmq_management,rabbitmq_consistent_hash_exchange]."
	}
	files := map[string]string{
		"rabbitmq.conf":   conf,
		"enabled_plugins": plugins + "\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(c.Dir, name), []byte(body), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	if c.Cookie != "" {
		if err := os.WriteFile(filepath.Join(n.home, ".erlang.cookie"), []byte(c.Cookie), 0o400); err != nil {
			return fmt.Errorf("write erlang cookie: %w", err)
		}
	}
	n.env = append(filteredEnviron(),
		"HOME="+n.home,
		"RABBITMQ_NODENAME="+n.nodeName,
		"RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
		"RABBITMQ_NODE_PORT="+strconv.Itoa(c.AMQPPort),
		"RABBITMQ_DIST_PORT="+strconv.Itoa(c.DistPort),
		"RABBITMQ_MNESIA_BASE="+filepath.Join(c.Dir, "mnesia"),
		"RABBITMQ_LOG_BASE="+filepath.Join(c.Dir, "log"),
		"RABBITMQ_PID_FILE="+filepath.Join(c.Dir, "node.pid"),
		"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(c.Dir, "enabled_plugins"),
		"RABBITMQ_CONFIG_FILE="+filepath.Join(c.Dir, "rabbitmq"),
		"RABBITMQ_ADVANCED_CONFIG_FILE="+filepath.Join(c.Dir, "advanced.config"),
		"RABBITMQ_CONF_ENV_FILE="+filepath.Join(c.Dir, "rabbitmq-env.conf"),
		"RUNNING_UNDER_SYSTEMD=true",
		// Loopback only: the node's Erlang distribution listener and that of
		// every rabbitmqctl call (inet_dist_use_interface), and an epmd that
		// the VM starts when none runs yet (ERL_EPMD_ADDRESS).
		"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="+nodeDistArgs(c.Addr),
		"RABBITMQ_CTL_ERL_ARGS="+ctlDistArgs(c.Addr),
		"ERL_EPMD_ADDRESS=127.0.0.1",
	)
	if c.InetRC != "" {
		n.env = append(n.env, "ERL_INETRC="+c.InetRC)
	}
	if c.EpmdPort != 0 {
		n.env = append(n.env, "ERL_EPMD_PORT="+strconv.Itoa(c.EpmdPort))
	}
	return nil
}

// loopbackDist makes an Erlang VM's distribution listener bind 127.0.0.1
// instead of every address.
const loopbackDist = "-kernel inet_dist_use_interface {127,0,0,1}"

// ClusterTickTime is the Erlang net_ticktime (seconds) of nodes with an
// address of their own: a peer cut off is seen down after 10 to 15 s
// instead of the default 60 to 75 s.
const ClusterTickTime = 10

// nodeDistArgs are the node's distribution arguments. A node on 127.0.0.1
// only binds its listener there. A node on an address of its own listens
// on it and also connects from it (inet_dist_connect_options): a socket
// connecting to 127.x.y.z otherwise takes 127.0.0.1 as its source, and
// rules keyed on addresses could not tell the nodes apart.
func nodeDistArgs(addr net.IP) string {
	if addr.Equal(net.IPv4(127, 0, 0, 1)) {
		return loopbackDist
	}
	t := erlIP(addr)
	return fmt.Sprintf("-kernel inet_dist_use_interface %s -kernel inet_dist_connect_options [{ip,%s}] -kernel net_ticktime %d", t, t, ClusterTickTime)
}

// ctlDistArgs are rabbitmqctl's: it listens and connects from 127.0.0.1,
// which no cut between node addresses matches, so the CLI reaches every
// node also while they are cut apart.
func ctlDistArgs(addr net.IP) string {
	if addr.Equal(net.IPv4(127, 0, 0, 1)) {
		return loopbackDist
	}
	return fmt.Sprintf("%s -kernel net_ticktime %d", loopbackDist, ClusterTickTime)
}

// erlIP renders an IPv4 address as an Erlang tuple ({127,0,0,1}).
func erlIP(ip net.IP) string {
	v := ip.To4()
	return fmt.Sprintf("{%d,%d,%d,%d}", v[0], v[1], v[2], v[3])
}

// ConsumerTimeout is the delivery acknowledgement timeout (consumer_timeout)
// of every private node: a channel that holds a delivery unacknowledged for
// longer is closed by the broker with 406 PRECONDITION_FAILED and its
// unacked deliveries are requeued. RabbitMQ 3.10 checks it once a minute
// (channel_tick_interval), so it fires between 5 and 6 minutes. The value
// is far above any handling in the catalog (handlers take milliseconds to
// a few seconds, a whole run a few minutes at most), so no catalog run
// meets it, and below the package default (30 minutes), so that in a long
// `tflab up` session a delivery stuck behind a lost ack comes back within
// minutes, as it would in production. The AMQP proxy's drop-ack fault has
// its own, shorter ack timeout for scenario runs.
const ConsumerTimeout = 5 * time.Minute

// filteredEnviron drops inherited RABBITMQ_* and systemd variables so that a
// developer's shell settings cannot redirect a private node.
func filteredEnviron() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "RABBITMQ_") || strings.HasPrefix(kv, "NOTIFY_SOCKET=") || strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "ERL_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

func (n *Node) launch() error {
	logFile, err := os.OpenFile(filepath.Join(n.cfg.Dir, "log", "console.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open node console log: %w", err)
	}
	cmd := exec.Command(filepath.Join(n.cfg.Install.BinDir, "rabbitmq-server"))
	cmd.Env = n.env
	cmd.Dir = n.cfg.Dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// Pdeathsig fires when the OS thread that forked the child exits. Go
	// only ends threads whose goroutine exits while locked to them, which
	// this one is not, so the signal comes when the process dies.
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	exited := make(chan struct{})
	n.mu.Lock()
	n.cmd, n.exited, n.waitEr = cmd, exited, nil
	n.mu.Unlock()
	go func() {
		err := cmd.Wait()
		_ = logFile.Close()
		n.mu.Lock()
		n.waitEr = err
		n.mu.Unlock()
		close(exited)
	}()
	return nil
}

func (n *Node) awaitReady(ctx context.Context) error {
	// await_startup returns as soon as the node answers and the app has booted;
	// it fails fast while the node is not yet reachable, so poll it.
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		select {
		case <-n.Exited():
			return fmt.Errorf("node process exited during boot: %v (see %s)", n.exitErr(), filepath.Join(n.LogDir(), "console.log"))
		default:
		}
		conn, err := amqp.DialConfig(n.AMQPURL(), amqp.Config{Dial: amqp.DefaultDial(2 * time.Second)})
		if err == nil {
			_ = conn.Close()
			if n.cfg.Management {
				if err = n.managementUp(ctx); err == nil {
					return nil
				}
			} else {
				return nil
			}
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), last)
		case <-n.Exited():
		case <-tick.C:
		}
	}
}

func (n *Node) managementUp(ctx context.Context) error {
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(n.cfg.ManagementPort)))
	if err != nil {
		return fmt.Errorf("management port: %w", err)
	}
	return c.Close()
}

func (n *Node) exitErr() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.waitEr
}

// Name is the full Erlang node name (name@host).
func (n *Node) Name() string { return n.nodeName }

// AMQPPort is the node's AMQP listener port on 127.0.0.1.
func (n *Node) AMQPPort() int { return n.cfg.AMQPPort }

// ManagementPort is the management HTTP port (0 if the plugin is off).
func (n *Node) ManagementPort() int {
	if !n.cfg.Management {
		return 0
	}
	return n.cfg.ManagementPort
}

// Addr is the address the node's Erlang distribution listens on and
// connects from (127.0.0.1 unless Config.Addr set one).
func (n *Node) Addr() net.IP { return n.cfg.Addr }

// DistPort is the Erlang distribution port.
func (n *Node) DistPort() int { return n.cfg.DistPort }

// AMQPURL is the guest URL of the default vhost.
func (n *Node) AMQPURL() string {
	return fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", n.cfg.AMQPPort)
}

// ManagementURL is the management HTTP base URL ("" if the plugin is off).
func (n *Node) ManagementURL() string {
	if !n.cfg.Management {
		return ""
	}
	return fmt.Sprintf("http://127.0.0.1:%d", n.cfg.ManagementPort)
}

// LogDir holds the node's own logs and console output.
func (n *Node) LogDir() string { return filepath.Join(n.cfg.Dir, "log") }

// Dir is the node's directory.
func (n *Node) Dir() string { return n.cfg.Dir }

// PID is the Erlang VM's process id (of its latest start).
func (n *Node) PID() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil || n.cmd.Process == nil {
		return 0
	}
	return n.cmd.Process.Pid
}

// Exited is closed when the VM process (of its latest start) has exited.
func (n *Node) Exited() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.exited
}

// Pause stops the VM's process group with SIGSTOP: the node neither runs
// nor answers, but keeps its sockets open.
func (n *Node) Pause() error { return n.signal(syscall.SIGSTOP) }

// Resume continues a paused VM (SIGCONT).
func (n *Node) Resume() error { return n.signal(syscall.SIGCONT) }

func (n *Node) signal(sig syscall.Signal) error {
	pid := n.PID()
	if pid == 0 {
		return fmt.Errorf("node %s: not started", n.nodeName)
	}
	select {
	case <-n.Exited():
		return fmt.Errorf("node %s: signal %v: the VM has exited", n.nodeName, sig)
	default:
	}
	if err := syscall.Kill(-pid, sig); err != nil {
		return fmt.Errorf("node %s: signal %v: %w", n.nodeName, sig, err)
	}
	return nil
}

// Restart starts the VM again with the same configuration and data and
// returns once it accepts AMQP connections; a VM still running is killed
// first (SIGCONT too, in case it was paused). A cluster member rejoins its
// cluster from its own data.
func (n *Node) Restart(ctx context.Context) error {
	select {
	case <-n.Exited():
	default:
		_ = n.signal(syscall.SIGCONT)
		if err := n.Kill(); err != nil {
			return fmt.Errorf("restart %s: %w", n.nodeName, err)
		}
	}
	if err := n.launch(); err != nil {
		return fmt.Errorf("restart %s: %w", n.nodeName, err)
	}
	bootCtx, cancel := context.WithTimeout(ctx, n.cfg.StartTimeout)
	defer cancel()
	if err := n.awaitReady(bootCtx); err != nil {
		return fmt.Errorf("restart %s: not ready (log: %s): %w", n.nodeName, n.LogDir(), err)
	}
	n.log.Info("RabbitMQ node restarted", "pid", n.PID())
	return nil
}

// Ctl runs rabbitmqctl against this node with the node's HOME (for the
// cookie) and returns its combined output.
func (n *Node) Ctl(ctx context.Context, args ...string) (string, error) {
	full := append([]string{"-n", n.nodeName}, args...)
	cmd := exec.CommandContext(ctx, filepath.Join(n.cfg.Install.BinDir, "rabbitmqctl"), full...)
	cmd.Env = ctlEnv(n.env)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("rabbitmqctl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// ctlEnv is the node's environment for rabbitmqctl without
// RABBITMQ_NODENAME (-n names the target). With it, list_connections asked
// of a cluster node whose peers have addresses of their own printed the
// asked node's connections and then never returned (the peers' share never
// came: the CLI listens on 127.0.0.1 only and seems to take its node name's
// host from the variable); without it the same listing took 4 s.
func ctlEnv(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, "RABBITMQ_NODENAME=") })
}

// Stop stops the node gracefully, killing the VM if it does not exit within
// the stop timeout (a disposable node is killed at once). It is safe to call
// more than once.
func (n *Node) Stop(ctx context.Context) error {
	select {
	case <-n.Exited():
		return nil
	default:
	}
	if n.cfg.Disposable {
		n.log.Info("RabbitMQ node killed (disposable)")
		return n.Kill()
	}
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), n.cfg.StopTimeout)
	defer cancel()
	if _, err := n.Ctl(stopCtx, "stop"); err != nil {
		n.log.Warn("Graceful stop failed, killing node", "err", err)
		return n.Kill()
	}
	select {
	case <-n.Exited():
		n.log.Info("RabbitMQ node stopped")
		return nil
	case <-stopCtx.Done():
		return n.Kill()
	}
}

// Kill sends SIGKILL to the VM's process group and waits for it to exit.
func (n *Node) Kill() error {
	pid := n.PID()
	if pid == 0 {
		return nil
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	select {
	case <-n.Exited():
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("node %s (pid %d) did not exit after SIGKILL", n.nodeName, pid)
	}
}

// FreePort returns a TCP port that was free on 127.0.0.1 a moment ago,
// outside the ephemeral range so that no outgoing connection takes it
// before the node binds it (see package freeport).
func FreePort() (int, error) {
	return freeport.Get()
}

// PartitionHandling is the node's cluster_partition_handling ("" for
// RabbitMQ's default, ignore).
func (n *Node) PartitionHandling() string { return n.cfg.PartitionHandling }

package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ticketflow-lab/tflab/internal/broker"
	"github.com/ticketflow-lab/tflab/internal/httpget"
)

// ErrNoLab reports that no running lab was found.
var ErrNoLab = errors.New("no running lab found")

// Info is the content of lab.json and of `tflab status --json`. The keys of
// broker.amqp, broker.management, toxiproxy, lab_api and services.*.{http,
// amqp_proxy, message_proxy, pid, healthy} are a public contract.
type Info struct {
	System string `json:"system"`
	Note   string `json:"note,omitempty"`
	RunDir string `json:"run_dir"`
	// Running is true while the control process is up (Probe checks it).
	Running           bool       `json:"running"`
	ControlPID        int        `json:"control_pid"`
	ControlStartTicks uint64     `json:"control_start_ticks"`
	Seed              int64      `json:"seed"`
	Ports             string     `json:"ports"`
	StartedAt         time.Time  `json:"started_at"`
	ReadyAt           *time.Time `json:"ready_at,omitempty"`
	StoppedAt         *time.Time `json:"stopped_at,omitempty"`
	Broker            BrokerInfo `json:"broker"`
	// LabAPI is the lab control API's base URL (message faults per service
	// instance under /services/<id>/faults and /services/<id>/evidence).
	LabAPI string `json:"lab_api,omitempty"`
	// Console is the web console's base URL (`tflab console` opens it).
	Console string `json:"console,omitempty"`
	// OTLP is the OTLP/HTTP endpoint the services export spans to ("" for
	// none); TraceUI is a viewer of those spans, e.g. Jaeger's query API.
	OTLP    string `json:"otlp,omitempty"`
	TraceUI string `json:"trace_ui,omitempty"`
	// Toxiproxy is the Toxiproxy API base URL.
	Toxiproxy        string                 `json:"toxiproxy"`
	ToxiproxyHealthy bool                   `json:"toxiproxy_healthy"`
	Services         map[string]ServiceInfo `json:"services"`
}

// BrokerInfo describes the broker; AMQP and Management are the primary node's.
type BrokerInfo struct {
	Provider   string     `json:"provider"`
	AMQP       string     `json:"amqp"`
	Management string     `json:"management"`
	PID        int        `json:"pid,omitempty"`
	Healthy    bool       `json:"healthy"`
	Nodes      []NodeInfo `json:"nodes"`
	// QueueType is classic, mirrored or quorum; PartitionHandling the
	// nodes' cluster_partition_handling ("" = RabbitMQ's default, ignore).
	QueueType         string `json:"queue_type,omitempty"`
	PartitionHandling string `json:"partition_handling,omitempty"`
}

// NodeInfo is one broker node.
type NodeInfo struct {
	Name       string `json:"name"`
	AMQP       string `json:"amqp"`
	Management string `json:"management,omitempty"`
	PID        int    `json:"pid,omitempty"`
	LogDir     string `json:"log_dir,omitempty"`
}

// ServiceInfo is one service instance.
type ServiceInfo struct {
	Service  string `json:"service"`
	Instance int    `json:"instance"`
	// HTTP is the service's base URL (GET /health).
	HTTP string `json:"http"`
	// AMQPProxy is host:port of its Toxiproxy proxy; Proxy is the proxy's name.
	AMQPProxy string `json:"amqp_proxy"`
	Proxy     string `json:"proxy"`
	// MessageProxy is host:port of the AMQP-aware message-fault proxy
	// chained behind the Toxiproxy proxy (Toxiproxy's upstream); its rules
	// are at <lab_api>/services/<id>/faults.
	MessageProxy string `json:"message_proxy,omitempty"`
	// Upstream is the broker node address behind the proxies.
	Upstream string `json:"upstream"`
	// Node is the name of the node the instance is placed on (instance i of
	// the plan on node i mod N), behind Proxy.
	Node string `json:"node,omitempty"`
	// Fallbacks are the instance's proxies to the other nodes, in the order
	// the service tries them when its node fails (none on one node).
	Fallbacks []FallbackInfo `json:"fallbacks,omitempty"`
	// PID is the current (or last) process id.
	PID int `json:"pid"`
	// State is running, paused or exited.
	State   string `json:"state"`
	Starts  int    `json:"starts"`
	Healthy bool   `json:"healthy"`
	Log     string `json:"log"`
	Spans   string `json:"spans"`
	// DB is the service's database, the same file for every instance of
	// the service: read it once per service, not once per instance.
	DB string `json:"db"`
}

// FallbackInfo is one of an instance's proxies to a node other than its own:
// a Toxiproxy proxy straight to the node, without a message proxy.
type FallbackInfo struct {
	Node      string `json:"node"`
	Proxy     string `json:"proxy"`
	AMQPProxy string `json:"amqp_proxy"`
	Upstream  string `json:"upstream"`
}

// IDs lists the service instance ids in order.
func (in Info) IDs() []string {
	ids := make([]string, 0, len(in.Services))
	for id := range in.Services {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// SetConsole records the web console's base URL in lab.json.
func (l *Lab) SetConsole(url string) error {
	l.mu.Lock()
	l.info.Console = url
	l.mu.Unlock()
	return l.writeInfo()
}

// Layout names the paths inside a run directory.
type Layout struct{ Dir string }

func (l Layout) LabFile() string             { return filepath.Join(l.Dir, "lab.json") }
func (l Layout) Logs() string                { return filepath.Join(l.Dir, "logs") }
func (l Layout) Traces() string              { return filepath.Join(l.Dir, "traces") }
func (l Layout) DB() string                  { return filepath.Join(l.Dir, "db") }
func (l Layout) Broker() string              { return filepath.Join(l.Dir, "broker") }
func (l Layout) ServiceLog(id string) string { return filepath.Join(l.Logs(), id+".log") }
func (l Layout) SpanFile(id string) string   { return filepath.Join(l.Traces(), id+".jsonl") }
func (l Layout) DBFile(svc string) string    { return filepath.Join(l.DB(), svc+".sqlite") }

func (l Layout) create() error {
	for _, d := range []string{l.Dir, l.Logs(), l.Traces(), l.DB(), l.Broker()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create run dir: %w", err)
		}
	}
	return nil
}

// NewRunDir creates root/<time>-<name>, adding -2, -3, … when another lab
// took the same second, and returns its absolute path: every path the lab
// derives from it is handed to child processes (broker node, services) that
// run in other working directories.
func NewRunDir(root, name string, now time.Time) (string, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return "", fmt.Errorf("runs dir: %w", err)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("create runs dir: %w", err)
	}
	base := filepath.Join(root, now.Format("20060102-150405")+"-"+name)
	for i := 1; i <= 100; i++ {
		dir := base
		if i > 1 {
			dir = base + "-" + strconv.Itoa(i)
		}
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return "", fmt.Errorf("create run dir: %w", err)
		}
	}
	return "", fmt.Errorf("create run dir: %s-* all taken", base)
}

// writeInfo writes lab.json atomically (temp file, then rename).
func writeInfo(path string, in Info) error {
	b, err := json.MarshalIndent(in, "", "  ")
	if err != nil {
		return fmt.Errorf("encode lab.json: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write lab.json: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write lab.json: %w", err)
	}
	return nil
}

// ReadInfo reads runDir/lab.json.
func ReadInfo(runDir string) (Info, error) {
	b, err := os.ReadFile(Layout{runDir}.LabFile())
	if err != nil {
		return Info{}, fmt.Errorf("read lab.json: %w", err)
	}
	var in Info
	if err := json.Unmarshal(b, &in); err != nil {
		return Info{}, fmt.Errorf("decode %s: %w", Layout{runDir}.LabFile(), err)
	}
	return in, nil
}

// FindLive returns the run dir and Info of the most recently started lab
// under root whose control process is alive, or an error wrapping ErrNoLab.
func FindLive(root string) (string, Info, error) {
	files, _ := filepath.Glob(filepath.Join(root, "*", "lab.json"))
	var (
		bestDir string
		best    Info
		found   bool
	)
	for _, f := range files {
		dir := filepath.Dir(f)
		in, err := ReadInfo(dir)
		if err != nil || !in.Running || !ControlAlive(in) {
			continue
		}
		if !found || in.StartedAt.After(best.StartedAt) {
			bestDir, best, found = dir, in, true
		}
	}
	if !found {
		return "", Info{}, fmt.Errorf("%w under %s (start one with 'tflab up', or pass --run-dir)", ErrNoLab, root)
	}
	return bestDir, best, nil
}

// ControlAlive reports whether the lab's control process still runs (and is
// the same process: its start time must match).
func ControlAlive(in Info) bool {
	if in.ControlPID <= 0 {
		return false
	}
	st, ticks, ok := procStat(in.ControlPID)
	if !ok || st == "Z" || st == "X" {
		return false
	}
	return in.ControlStartTicks == 0 || ticks == in.ControlStartTicks
}

// procStat returns the state letter and start time (clock ticks since boot)
// of a process from /proc/PID/stat.
func procStat(pid int) (state string, startTicks uint64, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", 0, false
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); starttime is field 22.
	if len(f) < 20 {
		return "", 0, false
	}
	t, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return "", 0, false
	}
	return f[0], t, true
}

// ProcessState maps a pid to running, paused ('T' or 't') or exited.
func ProcessState(pid int) string {
	if pid <= 0 {
		return "exited"
	}
	st, _, ok := procStat(pid)
	switch {
	case !ok || st == "Z" || st == "X":
		return "exited"
	case st == "T" || st == "t":
		return "paused"
	default:
		return "running"
	}
}

// CheckHealth does one GET <base>/health and returns nil on 200.
func CheckHealth(ctx context.Context, base string) error {
	return httpget.Get(ctx, base+"/health", 2*time.Second, nil)
}

// Probe returns in with its live fields filled: running (control process),
// each service's state and health, the broker's and Toxiproxy's health.
// Checks run concurrently, each bounded by a short timeout.
func Probe(ctx context.Context, in Info) Info {
	out := in
	out.Running = in.Running && ControlAlive(in)
	out.Services = make(map[string]ServiceInfo, len(in.Services))
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for id, s := range in.Services {
		wg.Go(func() {
			s.State = ProcessState(s.PID)
			s.Healthy = s.State == "running" && CheckHealth(ctx, s.HTTP) == nil
			mu.Lock()
			out.Services[id] = s
			mu.Unlock()
		})
	}
	wg.Go(func() {
		ok := in.Broker.AMQP != "" && broker.Ping(ctx, in.Broker.AMQP, 2*time.Second) == nil
		mu.Lock()
		out.Broker.Healthy = ok
		mu.Unlock()
	})
	wg.Go(func() {
		ok := in.Toxiproxy != "" && httpget.Get(ctx, in.Toxiproxy+"/version", 2*time.Second, nil) == nil
		mu.Lock()
		out.ToxiproxyHealthy = ok
		mu.Unlock()
	})
	wg.Wait()
	return out
}

// StopRemote asks the lab's control process to stop (SIGTERM) and waits up
// to wait for it to exit.
func StopRemote(ctx context.Context, in Info, wait time.Duration) error {
	if !ControlAlive(in) {
		return fmt.Errorf("lab in %s: %w (control pid %d is gone)", in.RunDir, ErrNoLab, in.ControlPID)
	}
	if err := syscall.Kill(in.ControlPID, syscall.SIGTERM); err != nil {
		return fmt.Errorf("signal control pid %d: %w", in.ControlPID, err)
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for ControlAlive(in) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for the lab to stop: %w", ctx.Err())
		case <-deadline.C:
			return fmt.Errorf("the lab (control pid %d) did not stop within %s; see %s", in.ControlPID, wait, in.RunDir)
		case <-tick.C:
		}
	}
	return nil
}

package rabbitnode

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Cluster is a set of private nodes joined into one RabbitMQ cluster.
type Cluster struct {
	Nodes []*Node
	epmd  *exec.Cmd
	done  chan struct{} // closed when epmd has exited
	claim io.Closer     // holds the cluster's subnet (claimSubnet)
}

// ClusterStartTimeout bounds each cluster node's boot when the config sets
// none: nodes 2..N boot at once, and on a loaded 2-core machine boots
// together took longer than a single node's 60 s.
const ClusterStartTimeout = 3 * time.Minute

// StartCluster boots size nodes named <base.Name>-i@<base.Name>-ni (i = 1 …
// size) under base.Dir/<base.Name>-i, sharing one Erlang cookie: node 1
// first, then nodes 2..size at once, each joining node 1 while it boots
// (classic_config peer discovery; a node that booted alone joins with
// rabbitmqctl). Node i has the address i in the subnet the cluster claims
// (claimSubnet: Subnet(base.Name) unless another cluster on the machine
// holds it), on which its Erlang distribution listens and from which it
// connects; the
// host names resolve through base.Dir/inetrc, and the nodes register with
// an epmd of the cluster's own that listens on 127.0.0.1 and the nodes'
// addresses. A zero StartTimeout is ClusterStartTimeout. Ports, Addr,
// Host, InetRC and EpmdPort in base are ignored. On error every process
// already started is killed.
func StartCluster(ctx context.Context, base Config, size int) (*Cluster, error) {
	if size < 1 || size > 250 {
		return nil, fmt.Errorf("cluster size %d: must be 1 to 250", size)
	}
	if err := os.MkdirAll(base.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("cluster dir: %w", err)
	}
	if base.Cookie == "" {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		base.Cookie = "TFLAB" + hex.EncodeToString(b)
	}
	if base.StartTimeout <= 0 {
		base.StartTimeout = ClusterStartTimeout
	}
	subnet, claim, err := claimSubnet(base.Name)
	if err != nil {
		return nil, err
	}
	addrs := make([]net.IP, size)
	hosts := make([]string, size)
	var rc strings.Builder
	for i := range size {
		addrs[i] = NodeAddr(subnet, i+1)
		hosts[i] = fmt.Sprintf("%s-n%d", base.Name, i+1)
		fmt.Fprintf(&rc, "{host, %s, [%q]}.\n", erlIP(addrs[i]), hosts[i])
	}
	rc.WriteString("{lookup, [file, native]}.\n")
	inetrc := filepath.Join(base.Dir, "inetrc")
	if err := os.WriteFile(inetrc, []byte(rc.String()), 0o644); err != nil {
		_ = claim.Close()
		return nil, fmt.Errorf("write inetrc: %w", err)
	}
	c := &Cluster{claim: claim}
	fail := func(err error) (*Cluster, error) {
		for _, n := range c.Nodes {
			_ = n.Kill()
		}
		c.stopEpmd()
		_ = c.claim.Close()
		return nil, err
	}
	epmdPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	if err := c.startEpmd(ctx, epmdPort, addrs, filepath.Join(base.Dir, "epmd.log")); err != nil {
		return fail(err)
	}
	// Node 1 boots first; the others then boot at once with node 1 as their
	// classic_config peer, so they join its cluster while they boot. Joining
	// afterwards with rabbitmqctl (stop_app, join_cluster, start_app) costs
	// an Erlang VM per call: 2 to 4 minutes for two nodes at load 30.
	cfgOf := func(i int) Config {
		cfg := base
		cfg.Name = fmt.Sprintf("%s-%d", base.Name, i+1)
		cfg.Dir = filepath.Join(base.Dir, cfg.Name)
		cfg.AMQPPort, cfg.DistPort, cfg.ManagementPort = 0, 0, 0
		cfg.Addr, cfg.Host, cfg.InetRC, cfg.EpmdPort = addrs[i], hosts[i], inetrc, epmdPort
		return cfg
	}
	first, err := Start(ctx, cfgOf(0))
	if err != nil {
		return fail(fmt.Errorf("start cluster node 1: %w", err))
	}
	c.Nodes = append(c.Nodes, first)
	nodes := make([]*Node, size)
	errs := make([]error, size)
	var wg sync.WaitGroup
	for i := 1; i < size; i++ {
		cfg := cfgOf(i)
		// Node 1 alone: listing the others too could join a node to a
		// peer that is itself still booting blank. RabbitMQ warns that the
		// booting node is not among its configured peers; that is harmless.
		cfg.Peers = []string{first.Name()}
		wg.Go(func() {
			nodes[i], errs[i] = Start(ctx, cfg)
		})
	}
	wg.Wait()
	for _, n := range nodes[1:] {
		if n != nil {
			c.Nodes = append(c.Nodes, n)
		}
	}
	for i, err := range errs {
		if err != nil {
			return fail(fmt.Errorf("start cluster node %d: %w", i+1, err))
		}
	}
	// A node that did not join while it booted (node 1 not reached in
	// time) joins the slow way.
	for _, n := range c.Nodes[1:] {
		if ok, err := n.member(ctx, first.Name()); err == nil && ok {
			continue
		} else if err != nil {
			n.log.Warn("Cannot tell whether the node joined the cluster at boot; joining with rabbitmqctl", "err", err)
		} else {
			n.log.Warn("The node booted alone; joining the cluster with rabbitmqctl", "cluster", first.Name())
		}
		for _, args := range [][]string{{"stop_app"}, {"join_cluster", first.Name()}, {"start_app"}} {
			if _, err := n.Ctl(ctx, args...); err != nil {
				return fail(fmt.Errorf("join %s to %s: %w", n.Name(), first.Name(), err))
			}
		}
	}
	return c, nil
}

// peersConf is the rabbitmq.conf lines of classic_config peer discovery
// with peers ("" for none).
func peersConf(peers []string) string {
	if len(peers) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("cluster_formation.peer_discovery_backend = classic_config\n")
	for i, p := range peers {
		fmt.Fprintf(&b, "cluster_formation.classic_config.nodes.%d = %s\n", i+1, p)
	}
	return b.String()
}

// member reports whether node other is a member of n's cluster: from n's
// management API (GET /api/nodes) when it has one, else from rabbitmqctl
// cluster_status.
func (n *Node) member(ctx context.Context, other string) (bool, error) {
	if !n.cfg.Management {
		out, err := n.Ctl(ctx, "cluster_status", "--formatter", "json")
		if err != nil {
			return false, err
		}
		var st struct {
			DiskNodes []string `json:"disk_nodes"`
		}
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			return false, fmt.Errorf("cluster_status: %w", err)
		}
		return slices.Contains(st.DiskNodes, other), nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.ManagementURL()+"/api/nodes?columns=name", nil)
	if err != nil {
		return false, err
	}
	req.SetBasicAuth("guest", "guest")
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("GET /api/nodes: %s", resp.Status)
	}
	var rows []struct {
		Name string `json:"name"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&rows); err != nil {
		return false, fmt.Errorf("GET /api/nodes: %w", err)
	}
	return slices.ContainsFunc(rows, func(r struct {
		Name string `json:"name"`
	}) bool {
		return r.Name == other
	}), nil
}

// Stop stops every node, last first, then the cluster's epmd, releases
// the cluster's subnet and returns the joined errors.
func (c *Cluster) Stop(ctx context.Context) error {
	var errs []error
	for i := len(c.Nodes) - 1; i >= 0; i-- {
		if err := c.Nodes[i].Stop(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	c.stopEpmd()
	if c.claim != nil {
		_ = c.claim.Close()
	}
	return errors.Join(errs...)
}

// Subnet is the /24 inside 127/8 whose addresses a cluster of this name
// gives its nodes: 127.a.b.0 with a (1 … 254) and b taken from a hash of the
// name, so that two labs on one machine almost never share addresses (and
// cuts keyed on addresses stay with their own lab). 127.0.x.x is never used.
func Subnet(name string) net.IP {
	h := fnv.New32a()
	_, _ = h.Write([]byte(name))
	v := h.Sum32()
	return net.IPv4(127, byte(1+v%254), byte(v>>8), 0)
}

// subnetClaimPort is the UDP port on which a cluster holds its subnet:
// epmd's port number, on UDP, where nothing of Erlang's listens.
const subnetClaimPort = 4369

// subnetClaims bounds how many subnets claimSubnet tries.
const subnetClaims = 64

// claimSubnet picks the subnet of a cluster named name and holds it: a UDP
// socket bound to the subnet's address .0 on subnetClaimPort, which the
// kernel lets one socket on the machine bind at a time and closes when the
// process ends, however it ends. It tries Subnet(name), then Subnet of
// name+"/1", name+"/2", … while another process (or cluster) holds the
// one tried, so two live clusters never share node addresses, and a cut
// between one cluster's nodes never drops another's traffic. The caller
// closes the returned socket when its nodes are gone.
func claimSubnet(name string) (net.IP, io.Closer, error) {
	var last error
	for i := range subnetClaims {
		key := name
		if i > 0 {
			key = fmt.Sprintf("%s/%d", name, i)
		}
		subnet := Subnet(key)
		pc, err := net.ListenPacket("udp4", net.JoinHostPort(subnet.String(), strconv.Itoa(subnetClaimPort)))
		if err == nil {
			return subnet, pc, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			return nil, nil, fmt.Errorf("claim cluster subnet %s: %w", subnet, err)
		}
		last = err
	}
	return nil, nil, fmt.Errorf("claim cluster subnet: the %d subnets of %q are all held by other clusters (last: %w)", subnetClaims, name, last)
}

// NodeAddr is the address of node i (1-based) in subnet.
func NodeAddr(subnet net.IP, i int) net.IP {
	s := subnet.To4()
	return net.IPv4(s[0], s[1], s[2], byte(i))
}

// startEpmd runs an epmd of the cluster's own in the foreground (a child
// that dies with this process: Pdeathsig) on port, listening on 127.0.0.1
// and every node address, and waits until it accepts connections. The
// machine's shared epmd listens on 127.0.0.1 only, where a node looking up
// a peer at the peer's own address would not find it.
func (c *Cluster) startEpmd(ctx context.Context, port int, addrs []net.IP, logPath string) error {
	bin, err := exec.LookPath("epmd")
	if err != nil {
		matches, _ := filepath.Glob("/usr/lib/erlang/erts-*/bin/epmd")
		if len(matches) == 0 {
			return fmt.Errorf("find epmd: %w", ErrNotInstalled)
		}
		bin = matches[len(matches)-1]
	}
	list := []string{"127.0.0.1"}
	for _, a := range addrs {
		list = append(list, a.String())
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open epmd log: %w", err)
	}
	cmd := exec.Command(bin, "-port", strconv.Itoa(port), "-address", strings.Join(list, ","))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return fmt.Errorf("start epmd: %w", err)
	}
	c.epmd, c.done = cmd, make(chan struct{})
	go func() {
		_ = cmd.Wait()
		_ = logFile.Close()
		close(c.done)
	}()
	deadline, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		d := net.Dialer{Timeout: time.Second}
		conn, err := d.DialContext(deadline, "tcp", net.JoinHostPort(addrs[len(addrs)-1].String(), strconv.Itoa(port)))
		if err == nil {
			_ = conn.Close()
			return nil
		}
		select {
		case <-c.done:
			return fmt.Errorf("epmd exited at start (see %s)", logPath)
		case <-deadline.Done():
			return fmt.Errorf("epmd on port %d not ready: %w (last: %v)", port, deadline.Err(), err)
		case <-tick.C:
		}
	}
}

// EpmdPID is the process id of the cluster's own epmd (0 if none runs).
func (c *Cluster) EpmdPID() int {
	if c.epmd == nil || c.epmd.Process == nil {
		return 0
	}
	return c.epmd.Process.Pid
}

func (c *Cluster) stopEpmd() {
	if c.epmd == nil || c.epmd.Process == nil {
		return
	}
	_ = c.epmd.Process.Kill()
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
	}
}

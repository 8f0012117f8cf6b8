package labtest

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Listener is one listening TCP socket and the process that holds it.
type Listener struct {
	PID  int
	Comm string
	Addr net.IP
	Port int
}

func (l Listener) String() string {
	return fmt.Sprintf("%s (pid %d %s)", net.JoinHostPort(l.Addr.String(), strconv.Itoa(l.Port)), l.PID, l.Comm)
}

// Wildcard reports whether the socket listens on every address (0.0.0.0 or ::).
func (l Listener) Wildcard() bool { return l.Addr.IsUnspecified() }

// Listeners lists the listening TCP sockets (IPv4 and IPv6) held by the
// processes pids and all their descendants, read from /proc: socket inodes
// from /proc/<pid>/fd matched against the LISTEN rows of /proc/net/tcp and
// /proc/net/tcp6.
func Listeners(pids ...int) ([]Listener, error) {
	listening := map[uint64]Listener{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		if err := readListening(f, listening); err != nil {
			return nil, err
		}
	}
	tree, err := descendants(pids)
	if err != nil {
		return nil, err
	}
	var out []Listener
	for _, pid := range tree {
		fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		if err != nil {
			continue // exited meanwhile, or not ours to read
		}
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		for _, fd := range fds {
			target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
			if err != nil || !strings.HasPrefix(target, "socket:[") {
				continue
			}
			inode, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]"), 10, 64)
			if err != nil {
				continue
			}
			if l, ok := listening[inode]; ok {
				l.PID, l.Comm = pid, strings.TrimSpace(string(comm))
				out = append(out, l)
			}
		}
	}
	return out, nil
}

// tcpListen is the state column's value for LISTEN in /proc/net/tcp*.
const tcpListen = "0A"

func readListening(path string, into map[uint64]Listener) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("list listening sockets: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || fields[3] != tcpListen {
			continue
		}
		ip, port, err := parseProcAddr(fields[1])
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		inode, err := strconv.ParseUint(fields[9], 10, 64)
		if err != nil {
			return fmt.Errorf("%s: inode %q: %w", path, fields[9], err)
		}
		into[inode] = Listener{Addr: ip, Port: port}
	}
	return sc.Err()
}

// parseProcAddr decodes "0100007F:1F90": the address as 32-bit words in
// host (little-endian) byte order, then the port in hex.
func parseProcAddr(s string) (net.IP, int, error) {
	host, portHex, ok := strings.Cut(s, ":")
	if !ok {
		return nil, 0, fmt.Errorf("address %q", s)
	}
	raw, err := hex.DecodeString(host)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return nil, 0, fmt.Errorf("address %q", s)
	}
	for i := 0; i < len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	port, err := strconv.ParseUint(portHex, 16, 16)
	if err != nil {
		return nil, 0, fmt.Errorf("port in %q: %w", s, err)
	}
	return net.IP(raw), int(port), nil
}

// descendants returns pids and every process below them, from the parent
// field of /proc/<pid>/stat.
func descendants(pids []int) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	children := map[int][]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
		fields := strings.Fields(rest)
		if len(fields) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(fields[1]); err == nil {
			children[ppid] = append(children[ppid], pid)
		}
	}
	out := slices.Clone(pids)
	for i := 0; i < len(out); i++ {
		for _, c := range children[out[i]] {
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	return out, nil
}

// PortListeners lists the listening TCP sockets on port, whoever holds
// them (PID 0: the owner is not looked up).
func PortListeners(port int) ([]Listener, error) {
	listening := map[uint64]Listener{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		if err := readListening(f, listening); err != nil {
			return nil, err
		}
	}
	var out []Listener
	for _, l := range listening {
		if l.Port == port {
			out = append(out, l)
		}
	}
	return out, nil
}

// WildcardListeners returns the listeners of Listeners(pids...) that listen
// on every address.
func WildcardListeners(pids ...int) ([]Listener, error) {
	all, err := Listeners(pids...)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(l Listener) bool { return !l.Wildcard() }), nil
}

package freeport

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// low is the first port handed out: above the lab's fixed ports (8474,
// 21000–21673 and the 21xxx service ports).
const low = 22000

var (
	mu     sync.Mutex
	issued = map[int]bool{}
)

// Get returns a port on 127.0.0.1 that was free a moment ago, is outside the
// ephemeral range and has not been returned before in this process.
func Get() (int, error) {
	high := ephemeralLow()
	if high-low < 1000 {
		return 0, fmt.Errorf("free port: the ephemeral range starts at %d, leaving no room above %d", high, low)
	}
	mu.Lock()
	defer mu.Unlock()
	for range 200 {
		p := low + rand.IntN(high-low)
		if issued[p] {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue
		}
		_ = l.Close()
		issued[p] = true
		return p, nil
	}
	return 0, errors.New("free port: 200 random ports in a row were taken")
}

// ephemeralLow is the first port of the kernel's ephemeral range (32768 if
// it cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 32768
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n <= 0 {
		return 32768
	}
	return n
}

package toxihost

import (
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
)

// TestRemoveLatencyWhileClientsClose removes a downstream latency toxic
// while the clients of the connections it delays close them. Upstream
// Toxiproxy 2.12.0 deadlocks here (Shopify/toxiproxy#558): a closed
// connection's writer stops reading its link, the latency toxic blocks
// handing it a delayed chunk, and the removal waits forever for that toxic
// while it holds the lock the writer needs. The lab's copy in
// third_party/toxiproxy drains a dead link's output, so every removal
// returns and the proxy still forwards afterwards.
func TestRemoveLatencyWhileClientsClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	stop := make(chan struct{})
	defer close(stop)
	// Upstream: a small chunk every 20 ms on every connection.
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				go func() { _, _ = io.Copy(io.Discard, c) }()
				tick := time.NewTicker(20 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
					}
					if _, err := c.Write([]byte("0123456789abcdef")); err != nil {
						return
					}
				}
			}()
		}
	}()
	h, err := Start("127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	addr, err := h.AddProxy("svc", "127.0.0.1:0", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	p, err := h.Client().Proxy("svc")
	if err != nil {
		t.Fatal(err)
	}
	const rounds, conns = 8, 30
	for round := range rounds {
		if _, err := p.AddToxic("lat", "latency", "downstream", 1, toxiclient.Attributes{"latency": 300, "jitter": 100}); err != nil {
			t.Fatal(err)
		}
		var open []net.Conn
		for range conns {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			open = append(open, c)
		}
		// Wait until every connection has data queued in the toxic: the
		// first delayed chunk reaches each client.
		for _, c := range open {
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.ReadFull(c, make([]byte, 16)); err != nil {
				t.Fatalf("round %d: no delayed chunk: %v", round, err)
			}
		}
		var wg sync.WaitGroup
		for _, c := range open {
			wg.Go(func() {
				_ = c.(*net.TCPConn).SetLinger(0)
				_ = c.Close()
			})
		}
		done := make(chan error, 1)
		go func() { done <- p.RemoveToxic("lat") }()
		wg.Wait()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("round %d: remove toxic: %v", round, err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("round %d: removing the latency toxic blocked for 20 s (Shopify/toxiproxy#558)", round)
		}
	}
	// The proxy still forwards.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, make([]byte, 16)); err != nil {
		t.Fatalf("after the removals a new connection reads nothing: %v", err)
	}
}

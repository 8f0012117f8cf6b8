//go:build integration

package benchproxy_test

import (
	"os"
	"sync"
	"testing"

	"github.com/ticketflow-lab/tflab/internal/benchproxy"
	"github.com/ticketflow-lab/tflab/internal/broker"
	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/internal/toxihost"
)

func TestMain(m *testing.M) { os.Exit(labtest.Main(m)) }

// proxied returns the shared broker's URL and the same through a fresh
// embedded Toxiproxy proxy.
func proxied(tb testing.TB) (direct, viaProxy string) {
	tb.Helper()
	direct = labtest.AMQPURL(tb)
	th, err := toxihost.Start("127.0.0.1:0", nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = th.Close() })
	upstream, err := broker.HostPort(direct)
	if err != nil {
		tb.Fatal(err)
	}
	listen, err := th.AddProxy("bench-amqp", "127.0.0.1:0", upstream)
	if err != nil {
		tb.Fatal(err)
	}
	viaProxy, err = broker.WithHost(direct, listen)
	if err != nil {
		tb.Fatal(err)
	}
	return direct, viaProxy
}

func TestCompareMeasuresBothSidesWithProgress(t *testing.T) {
	direct, viaProxy := proxied(t)
	var (
		mu   sync.Mutex
		seen = map[benchproxy.Side]int{}
	)
	c, err := benchproxy.Compare(t.Context(), direct, viaProxy, benchproxy.Config{Messages: 3000}, 2, func(side benchproxy.Side, round, consumed int) {
		mu.Lock()
		defer mu.Unlock()
		seen[side] = max(seen[side], consumed)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Direct) != 2 || len(c.Proxied) != 2 {
		t.Fatalf("rounds: %d direct, %d proxied", len(c.Direct), len(c.Proxied))
	}
	for _, r := range append(c.Direct, c.Proxied...) {
		if r.Messages != 3000 || r.Rate() <= 0 {
			t.Fatalf("result %+v", r)
		}
	}
	if c.Ratio <= 0 || c.Ratio != c.ProxiedRate/c.DirectRate {
		t.Fatalf("ratio %v from %v / %v", c.Ratio, c.ProxiedRate, c.DirectRate)
	}
	if seen[benchproxy.SideDirect] != 3000 || seen[benchproxy.SideProxied] != 3000 {
		t.Fatalf("progress reached %v, want 3000 on both sides", seen)
	}
	t.Logf("direct %.0f msg/s, toxiproxy %.0f msg/s, ratio %.2f (3000 messages, 2 rounds)", c.DirectRate, c.ProxiedRate, c.Ratio)
}

// BenchmarkPublishConsume reports msg/s for b.N messages per sub-benchmark.
// Run: go test -tags integration -run '^$' -bench . ./internal/benchproxy
func BenchmarkPublishConsume(b *testing.B) {
	direct, viaProxy := proxied(b)
	for _, bc := range []struct{ name, url string }{{"direct", direct}, {"toxiproxy", viaProxy}} {
		b.Run(bc.name, func(b *testing.B) {
			res, err := benchproxy.Run(b.Context(), benchproxy.Config{AMQPURL: bc.url, Messages: b.N})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(res.Rate(), "msg/s")
		})
	}
}

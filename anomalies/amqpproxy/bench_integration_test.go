//go:build integration

package amqpproxy

import (
	"net/url"
	"testing"

	"github.com/ticketflow-lab/tflab/internal/benchproxy"
	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/internal/toxihost"
)

// BenchmarkThroughput compares persistent, confirmed publish→consume
// throughput directly and through the proxy with no rule installed, in the
// same run (30,000 × 512-byte messages, confirm window 256, prefetch 200;
// rounds alternate). Run with:
//
//	go test -tags integration -run '^$' -bench Throughput -benchtime 3x ./anomalies/amqpproxy
//
// b.N is the number of alternating rounds.
func BenchmarkThroughput(b *testing.B) {
	h := newHarness(b)
	compare(b, h.direct, h.url)
}

// BenchmarkThroughputChained measures the lab's real path, an embedded
// Toxiproxy proxy (no toxic) in front of the AMQP proxy, against a direct
// connection.
func BenchmarkThroughputChained(b *testing.B) {
	h := newHarness(b)
	host, err := toxihost.Start("127.0.0.1:0", nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = host.Close() })
	addr, err := host.AddProxy(labtest.UniqueName(b, "bench"), "127.0.0.1:0", h.p.Addr())
	if err != nil {
		b.Fatal(err)
	}
	u, err := url.Parse(h.url)
	if err != nil {
		b.Fatal(err)
	}
	u.Host = addr
	compare(b, h.direct, u.String())
}

func compare(b *testing.B, direct, proxied string) {
	c, err := benchproxy.Compare(b.Context(), direct, proxied, benchproxy.Config{}, b.N, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(c.DirectRate, "direct_msg/s")
	b.ReportMetric(c.ProxiedRate, "proxy_msg/s")
	b.ReportMetric(c.Ratio, "ratio")
	b.ReportMetric(0, "ns/op")
	b.Logf("direct %.0f msg/s, proxied %.0f msg/s, ratio %.2f (%d alternating rounds)", c.DirectRate, c.ProxiedRate, c.Ratio, b.N)
}

// TestThroughputHarness keeps the benchmark's path exercised in the normal
// integration run, with a small message count, through the proxy.
func TestThroughputHarness(t *testing.T) {
	h := newHarness(t)
	c, err := benchproxy.Compare(t.Context(), h.direct, h.url, benchproxy.Config{Messages: 500}, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Proxied[0].Messages != 500 || c.DirectRate <= 0 || c.ProxiedRate <= 0 || c.Ratio <= 0 {
		t.Fatalf("comparison %+v", c)
	}
	t.Logf("500 messages: direct %.0f msg/s, proxied %.0f msg/s", c.DirectRate, c.ProxiedRate)
}

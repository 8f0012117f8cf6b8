//go:build integration

package amqpproxy

import (
	"net/url"
	"testing"

	"github.com/ticketflow-lab/tflab/anomalies/amqpproxy/throughput"
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
	c, err := throughput.Compare(b.Context(), direct, proxied, b.N, throughput.Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(c.MedianA, "direct_msg/s")
	b.ReportMetric(c.MedianB, "proxy_msg/s")
	b.ReportMetric(c.Ratio, "ratio")
	b.ReportMetric(0, "ns/op")
	b.Logf("direct %.0f msg/s, proxied %.0f msg/s, ratio %.2f (%d alternating rounds)", c.MedianA, c.MedianB, c.Ratio, b.N)
}

// TestThroughputHarness keeps the benchmark's workload code exercised in the
// normal integration run, with a small message count, through the proxy.
func TestThroughputHarness(t *testing.T) {
	h := newHarness(t)
	c, err := throughput.Compare(t.Context(), h.direct, h.url, 1, throughput.Config{Messages: 500, Queue: labtest.UniqueName(t, "throughput")})
	if err != nil {
		t.Fatal(err)
	}
	if c.A[0].Messages != 500 || c.MedianA <= 0 || c.MedianB <= 0 || c.Ratio <= 0 {
		t.Fatalf("comparison %+v", c)
	}
	t.Logf("500 messages: direct %.0f msg/s, proxied %.0f msg/s", c.MedianA, c.MedianB)
}

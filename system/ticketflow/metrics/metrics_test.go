package metrics

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/system/runtime/clock"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

var t0 = time.Date(2025, 2, 25, 10, 0, 0, 0, time.UTC)

func TestStatus(t *testing.T) {
	tests := []struct {
		cpu, used, total float64
		want             contracts.HealthStatus
	}{
		{10, 100, 2048, contracts.HealthHealthy},
		{89.9, 1842, 2048, contracts.HealthHealthy},
		{90, 100, 2048, contracts.HealthError},
		{10, 1844, 2048, contracts.HealthError},
		{10, 100, 0, contracts.HealthUnknown},
	}
	for _, tt := range tests {
		if got := Status(tt.cpu, tt.used, tt.total); got != tt.want {
			t.Errorf("Status(%v, %v, %v) = %s, want %s", tt.cpu, tt.used, tt.total, got, tt.want)
		}
	}
}

func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestProcSamplerMeasuresThisProcess(t *testing.T) {
	var p ProcSampler
	if _, err := p.Sample(); err != nil {
		t.Fatal(err)
	}
	// Burn at least 30 ms of CPU (bounded by 5 s of wall time: the machine
	// may be busy with other work, so CPU time, not wall time, is the goal).
	start, deadline := cpuTime(t), time.Now().Add(5*time.Second)
	x := 0
	for cpuTime(t)-start < 30*time.Millisecond && time.Now().Before(deadline) {
		for range 10000 {
			x++
		}
	}
	s, err := p.Sample()
	if err != nil {
		t.Fatal(err)
	}
	if s.CPUPercent <= 0 || s.RSSMB <= 1 || s.TotalMB <= s.RSSMB {
		t.Fatalf("sample %+v after burning CPU (%d loops)", s, x)
	}
}

func TestTickShape(t *testing.T) {
	var c Counters
	c.Handled()
	c.Handled()
	c.Failed()
	tick := Tick(contracts.Tickets.AppName, "tickets-2", t0, Sample{CPUPercent: 12.345, RSSMB: 50, TotalMB: 2048}, c.Stats(), []contracts.QueueDepth{{Name: "q", Depth: 3}})
	if tick.Status != contracts.HealthHealthy || tick.Metrics.CPU.Usage != 12.35 || tick.Messages.Handled != 2 || tick.Messages.Failed != 1 || tick.Name != "tickets-service" {
		t.Fatalf("tick %+v", tick)
	}
	b, _ := json.Marshal(tick)
	for _, want := range []string{`"name":"tickets-service"`, `"status":"Healthy"`, `"lastChecked":"2025-02-25T10:00:00Z"`, `"cpu":{"usage":12.35}`, `"memory":{"used":50,"total":2048}`, `"queues":[{"name":"q","depth":3}]`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
}

func tick(name, inst string, at time.Time) contracts.MetricTick {
	return contracts.MetricTick{Name: name, Instance: inst, Status: contracts.HealthHealthy, LastChecked: at}
}

func TestAggregator(t *testing.T) {
	fake := clock.NewFake(t0)
	a := NewAggregator(fake, 10*time.Second)
	for i := range 25 {
		a.Add(tick("tickets-service", "1", t0.Add(time.Duration(i)*time.Second)))
	}
	a.Add(tick("sla-service", "1", t0))
	if s := a.Series("tickets-service", "1"); len(s) != History || !s[0].LastChecked.Equal(t0.Add(5*time.Second)) {
		t.Fatalf("series len %d first %v", len(s), s[0].LastChecked)
	}
	fake.Set(t0.Add(20 * time.Second))
	l := a.Latest()
	if len(l) != 2 || l[0].Name != "sla-service" || l[0].Status != contracts.HealthUnknown || l[1].Status != contracts.HealthHealthy {
		t.Fatalf("latest %+v", l)
	}
	ch, cancel := a.Subscribe(1)
	a.Add(tick("x", "1", t0))
	a.Add(tick("y", "1", t0)) // buffer full: dropped, Add does not block
	if got := <-ch; got.Name != "x" {
		t.Fatalf("got %s", got.Name)
	}
	select {
	case got := <-ch:
		t.Fatalf("dropped tick delivered: %s", got.Name)
	default:
	}
	cancel()
	if a.Subscribers() != 0 {
		t.Fatal("cancel did not unsubscribe")
	}
}

func TestLiveMetricsSSE(t *testing.T) {
	a := NewAggregator(nil, 0)
	a.Add(tick("inquiries-service", "1", t0))
	srv := httptest.NewServer(LiveHandler(a, time.Hour, nil))
	defer srv.Close()
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	rd := bufio.NewReader(resp.Body)
	next := func() contracts.MetricTick {
		t.Helper()
		var ev, data string
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case strings.HasPrefix(line, "event: "):
				ev = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data = strings.TrimPrefix(line, "data: ")
			case line == "" && data != "":
				if ev != SSEEvent {
					t.Fatalf("event %q", ev)
				}
				var m contracts.MetricTick
				if err := json.Unmarshal([]byte(data), &m); err != nil {
					t.Fatal(err)
				}
				return m
			}
		}
	}
	if got := next(); got.Name != "inquiries-service" {
		t.Fatalf("snapshot %+v", got)
	}
	waitFor(t, func() bool { return a.Subscribers() == 1 })
	a.Add(tick("sla-service", "2", t0))
	if got := next(); got.Name != "sla-service" || got.Instance != "2" {
		t.Fatalf("live %+v", got)
	}
	cancel()
	waitFor(t, func() bool { return a.Subscribers() == 0 })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
		time.Sleep(time.Millisecond) // polling a condition, not synchronising on time
	}
}

func TestReportOnFakeClock(t *testing.T) {
	fake := clock.NewFake(t0)
	var mu sync.Mutex
	var got []time.Time
	var errs int
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- Report(ctx, fake, 2*time.Second,
			func(now time.Time) contracts.MetricTick { return tick("a", "1", now) },
			func(_ context.Context, m contracts.MetricTick) error {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, m.LastChecked)
				if len(got) == 2 {
					return errors.New("broker down")
				}
				return nil
			},
			func(error) { mu.Lock(); errs++; mu.Unlock() })
	}()
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(got) }
	for i := 1; i <= 3; i++ {
		waitFor(t, func() bool { return count() == i && fake.Waiters() == 1 })
		fake.Advance(2 * time.Second)
	}
	waitFor(t, func() bool { return count() == 4 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Report returned %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, at := range got {
		if !at.Equal(t0.Add(time.Duration(i) * 2 * time.Second)) {
			t.Fatalf("tick %d at %v", i, at)
		}
	}
	if errs != 1 {
		t.Fatalf("onErr called %d times", errs)
	}
	if err := Report(t.Context(), fake, 0, nil, nil, nil); err == nil {
		t.Fatal("zero interval accepted")
	}
}

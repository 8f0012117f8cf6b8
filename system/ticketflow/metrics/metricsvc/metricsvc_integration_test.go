//go:build integration

package metricsvc

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketflow/app"
	"github.com/ticketflow-lab/tflab/system/ticketflow/communication"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
	"github.com/ticketflow-lab/tflab/system/ticketflow/metrics"
)

func TestMain(m *testing.M) { os.Exit(labtest.Main(m)) }

// running is a service runtime started in-process.
type running struct {
	base string
	stop func() (time.Duration, error) // cancels and waits; returns how long the stop took
}

func start(t *testing.T, svc contracts.Service, wire func(ctx context.Context, rt *app.Runtime) error, migs ...store.Migrations) *running {
	t.Helper()
	dir := t.TempDir()
	cfg := service.Config{System: "ticketflow", Name: svc.Name, Instance: 1, AMQPURL: labtest.AMQPURL(t),
		HTTPAddr: "127.0.0.1:0", DBPath: filepath.Join(dir, svc.Name+".db"), SpanFile: filepath.Join(dir, "spans.jsonl"),
		RunDir: dir, Seed: 3, Settings: map[string]string{"heartbeat": "2s", "confirm-timeout": "1s", "outbox-poll": "100ms",
			"metrics-interval": "200ms", "shutdown-timeout": "20s"}}
	ctx, cancel := context.WithCancel(context.Background())
	rt, err := app.New(ctx, cfg, labtest.Logger(t).With("svc", svc.Name), app.Spec{Service: svc, Migrations: migs})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := wire(ctx, rt); err != nil {
		cancel()
		_ = rt.Close()
		t.Fatal(err)
	}
	r := &running{base: "http://" + rt.Addr()}
	done := make(chan error, 1)
	go func() { done <- rt.Run(ctx) }()
	stopped := false
	r.stop = func() (time.Duration, error) {
		if stopped {
			return 0, nil
		}
		stopped = true
		began := time.Now()
		cancel()
		select {
		case err := <-done:
			return time.Since(began), err
		case <-time.After(30 * time.Second):
			return time.Since(began), fmt.Errorf("%s did not stop within 30 s", svc.Name)
		}
	}
	t.Cleanup(func() {
		if _, err := r.stop(); err != nil {
			t.Error(err)
		}
	})
	labtest.Eventually(t, 30*time.Second, func() error {
		resp, err := http.Get(r.base + "/health")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("health: HTTP %d", resp.StatusCode)
		}
		return nil
	})
	return r
}

// TestLiveMetricsStreamsTicksOfEveryService runs Metrics and Communication
// with fast ticks, reads /live-metrics (SSE, with a deadline) until a tick of
// each arrived, checks /live-metrics/latest, and that stopping the service
// ends an open stream at once instead of waiting out the HTTP drain.
func TestLiveMetricsStreamsTicksOfEveryService(t *testing.T) {
	m := start(t, contracts.Metrics, func(ctx context.Context, rt *app.Runtime) error {
		_, err := Wire(ctx, rt)
		return err
	})
	start(t, contracts.Communication, func(_ context.Context, rt *app.Runtime) error {
		communication.Wire(rt)
		return nil
	}, communication.Migrations)

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.base+"/live-metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("GET /live-metrics: HTTP %d %q", resp.StatusCode, ct)
	}
	seen := map[string]contracts.MetricTick{}
	sc := bufio.NewScanner(resp.Body)
	event := ""
	for len(seen) < 2 && sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			if event != metrics.SSEEvent {
				t.Fatalf("data of event %q", event)
			}
			var tick contracts.MetricTick
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &tick); err != nil {
				t.Fatalf("tick %q: %v", line, err)
			}
			seen[tick.Name] = tick
		}
	}
	for _, app := range []string{contracts.Metrics.AppName, contracts.Communication.AppName} {
		tick, ok := seen[app]
		if !ok {
			t.Fatalf("no tick of %s on the stream within the deadline (scan error %v); got %v", app, sc.Err(), seen)
		}
		if tick.Instance == "" || tick.Metrics.Memory.Total <= 0 || tick.Messages == nil || tick.LastChecked.IsZero() {
			t.Fatalf("tick of %s: %+v", app, tick)
		}
	}
	// Each tick carries the depth of every queue its instance consumes.
	var queues []string
	for _, q := range seen[contracts.Communication.AppName].Queues {
		queues = append(queues, q.Name)
	}
	slices.Sort(queues)
	if want := []string{contracts.QueueCommunicationAlerts, contracts.QueueCommunicationTicketResolved}; !slices.Equal(queues, want) {
		t.Fatalf("Communication's tick has queues %v, want %v", queues, want)
	}

	var latest []contracts.MetricTick
	resp2, err := http.Get(m.base + "/live-metrics/latest")
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(resp2.Body).Decode(&latest)
	resp2.Body.Close()
	if err != nil || len(latest) != 2 || latest[0].Name != contracts.Communication.AppName || latest[0].Status != contracts.HealthHealthy {
		t.Fatalf("latest: %+v %v", latest, err)
	}

	// The stream is still open: stopping must end it, not wait 20 s for it.
	took, err := m.stop()
	if err != nil {
		t.Fatal(err)
	}
	if took > 10*time.Second {
		t.Fatalf("stop with an open stream took %v", took)
	}
}

package placeholder_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/internal/labtest/placeholder"
	"github.com/ticketflow-lab/tflab/system/service"
)

// freeAddr returns a 127.0.0.1 address nobody listens on a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// getHealth returns the /health status code and body.
func getHealth(httpAddr string) (int, placeholder.Health, error) {
	var h placeholder.Health
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + httpAddr + "/health")
	if err != nil {
		return 0, h, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		return resp.StatusCode, h, fmt.Errorf("decode /health: %w", err)
	}
	return resp.StatusCode, h, nil
}

// run starts Main in the background and returns a stop func that cancels it
// and returns Main's error.
func run(t *testing.T, cfg service.Config) func() error {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- placeholder.Main(ctx, cfg, labtest.Logger(t)) }()
	return func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			return fmt.Errorf("Main did not return within 10s of cancel")
		}
	}
}

func TestHealthIs503WithoutBrokerAndMainStopsCleanly(t *testing.T) {
	cfg := service.Config{
		System: "ticketflow", Name: "placeholder", Instance: 1,
		AMQPURL:  "amqp://guest:guest@" + freeAddr(t) + "/", // nothing listens there
		HTTPAddr: freeAddr(t),
		Settings: map[string]string{"amqp.reconnect_max": "100ms"},
	}
	stop := run(t, cfg)
	labtest.Eventually(t, 5*time.Second, func() error {
		code, h, err := getHealth(cfg.HTTPAddr)
		if err != nil {
			return err
		}
		if code != http.StatusServiceUnavailable || h.OK || h.AMQP.Connected || h.AMQP.LastError == "" {
			return fmt.Errorf("want 503 with a dial error, got %d %+v", code, h)
		}
		if h.Service != "placeholder" || h.Instance != 1 {
			return fmt.Errorf("health names %s/%d", h.Service, h.Instance)
		}
		return nil
	})
	if err := stop(); err != nil {
		t.Fatalf("Main after cancel: %v", err)
	}
	if _, _, err := getHealth(cfg.HTTPAddr); err == nil {
		t.Fatal("HTTP still served after Main returned")
	}
}

func TestBadSettingIsRejected(t *testing.T) {
	cfg := service.Config{
		System: "ticketflow", Name: "placeholder", Instance: 1,
		AMQPURL: "amqp://127.0.0.1:1/", HTTPAddr: freeAddr(t),
		Settings: map[string]string{"amqp.heartbeat": "soon"},
	}
	if err := placeholder.Main(t.Context(), cfg, nil); err == nil {
		t.Fatal("Main accepted amqp.heartbeat=soon")
	}
}

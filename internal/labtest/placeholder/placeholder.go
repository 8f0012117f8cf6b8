package placeholder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ticketflow-lab/tflab/system/service"
)

var _ service.Main = Main

// Health is the JSON body of GET /health.
type Health struct {
	OK       bool       `json:"ok"`
	System   string     `json:"system"`
	Service  string     `json:"service"`
	Instance int        `json:"instance"`
	PID      int        `json:"pid"`
	AMQP     AMQPHealth `json:"amqp"`
}

// AMQPHealth describes the service's broker connection.
type AMQPHealth struct {
	Connected bool `json:"connected"`
	// Connects counts successful dials (1 after the first connection).
	Connects int `json:"connects"`
	// Since is when the link last changed state.
	Since     time.Time `json:"since"`
	LastError string    `json:"last_error,omitempty"`
}

// link tracks the AMQP connection state for /health.
type link struct {
	mu sync.Mutex
	h  AMQPHealth
}

func (l *link) set(connected bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if connected {
		l.h.Connects++
	}
	if connected != l.h.Connected || l.h.Since.IsZero() {
		l.h.Since = time.Now()
	}
	l.h.Connected = connected
	if err != nil {
		l.h.LastError = err.Error()
	}
}

func (l *link) get() AMQPHealth {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.h
}

// Main serves /health and keeps one AMQP connection up until ctx is cancelled.
func Main(ctx context.Context, cfg service.Config, log *slog.Logger) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("placeholder config: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("service", cfg.ID())
	heartbeat, err := durationSetting(cfg, "amqp.heartbeat", 5*time.Second)
	if err != nil {
		return err
	}
	backoffMax, err := durationSetting(cfg, "amqp.reconnect_max", time.Second)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("placeholder http listen: %w", err)
	}
	st := &link{}
	st.set(false, nil)
	srv := &http.Server{Handler: handler(cfg, st), ReadHeaderTimeout: 5 * time.Second}
	httpDone := make(chan error, 1)
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		httpDone <- err
	}()
	log.Info("Service started", "http", ln.Addr().String(), "pid", os.Getpid())

	linkDone := make(chan struct{})
	go func() {
		defer close(linkDone)
		keepConnected(ctx, cfg.AMQPURL, heartbeat, backoffMax, st, log)
	}()

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-httpDone:
		runErr = fmt.Errorf("placeholder http server: %w", runErr)
	}
	shCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shCtx); err != nil && runErr == nil {
		runErr = fmt.Errorf("placeholder http shutdown: %w", err)
	}
	<-linkDone
	log.Info("Service stopped")
	return runErr
}

func handler(cfg service.Config, st *link) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		h := Health{System: cfg.System, Service: cfg.Name, Instance: cfg.Instance, PID: os.Getpid(), AMQP: st.get()}
		h.OK = h.AMQP.Connected
		w.Header().Set("Content-Type", "application/json")
		if !h.OK {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(h)
	})
	return mux
}

// keepConnected dials, waits for the connection to close, and dials again
// with capped exponential backoff, until ctx is cancelled.
func keepConnected(ctx context.Context, url string, heartbeat, backoffMax time.Duration, st *link, log *slog.Logger) {
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		conn, err := amqp.DialConfig(url, amqp.Config{
			Heartbeat: heartbeat,
			Dial:      amqp.DefaultDial(5 * time.Second),
			Properties: amqp.Table{
				"connection_name": "tflab placeholder",
			},
		})
		if err != nil {
			st.set(false, err)
			log.Debug("AMQP dial failed", "err", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, backoffMax)
			continue
		}
		backoff = 50 * time.Millisecond
		st.set(true, nil)
		log.Info("AMQP connected")
		closed := conn.NotifyClose(make(chan *amqp.Error, 1))
		select {
		case <-ctx.Done():
			_ = conn.Close()
			st.set(false, nil)
			return
		case amqpErr := <-closed:
			var err error = errors.New("connection closed")
			if amqpErr != nil {
				err = amqpErr
			}
			st.set(false, err)
			log.Warn("AMQP connection lost", "err", err)
		}
	}
}

func durationSetting(cfg service.Config, key string, def time.Duration) (time.Duration, error) {
	v, ok := cfg.Settings[key]
	if !ok || v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("setting %s=%q: want a positive Go duration", key, v)
	}
	return d, nil
}

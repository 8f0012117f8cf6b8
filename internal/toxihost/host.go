package toxihost

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/Shopify/toxiproxy/v2/collectors"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	zlog "github.com/rs/zerolog/log"
)

// Host is an embedded Toxiproxy server with its HTTP API.
type Host struct {
	api  *toxiproxy.ApiServer
	srv  *http.Server
	ln   net.Listener
	done chan error
	log  *slog.Logger
}

// Start listens on addr (e.g. "127.0.0.1:8474" or "127.0.0.1:0") and serves
// the Toxiproxy API until Close.
func Start(addr string, log *slog.Logger) (*Host, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "toxiproxy")
	zl := zerolog.New(&slogWriter{log: log}).Level(zerolog.InfoLevel)
	if !log.Enabled(context.Background(), slog.LevelDebug) {
		zl = zerolog.Nop()
	}
	// Some toxics (bandwidth) log through zerolog's global logger, which
	// writes trace lines to stderr; route it like the server's.
	zlog.Logger = zl
	// Proxy metrics (bytes received and sent per link, counted when a link
	// ends) feed the fault executors' evidence (network.bytes-cut); they are
	// served at GET /metrics.
	metrics := toxiproxy.NewMetricsContainer(prometheus.NewRegistry())
	metrics.ProxyMetrics = collectors.NewProxyMetricCollectors()
	api := toxiproxy.NewServer(metrics, zl)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("toxiproxy API listen on %s: %w (choose another port or use --ports random)", addr, err)
	}
	h := &Host{
		api:  api,
		srv:  &http.Server{Handler: api.Routes(), ReadHeaderTimeout: 15 * time.Second, IdleTimeout: 60 * time.Second},
		ln:   ln,
		done: make(chan error, 1),
		log:  log,
	}
	go func() {
		err := h.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		h.done <- err
	}()
	log.Info("Toxiproxy API listening", "url", h.URL())
	return h, nil
}

// Addr is the API's host:port.
func (h *Host) Addr() string { return h.ln.Addr().String() }

// URL is the API's base URL, e.g. http://127.0.0.1:8474.
func (h *Host) URL() string { return "http://" + h.Addr() }

// Client returns the official Go client pointed at this host.
func (h *Host) Client() *toxiclient.Client { return toxiclient.NewClient(h.Addr()) }

// AddProxy creates and starts a proxy named name from listen (use
// "127.0.0.1:0" for a free port) to upstream and returns the address it
// listens on.
func (h *Host) AddProxy(name, listen, upstream string) (string, error) {
	p := toxiproxy.NewProxy(h.api, name, listen, upstream)
	if err := h.api.Collection.Add(p, true); err != nil {
		return "", fmt.Errorf("add toxiproxy proxy %s (%s -> %s): %w", name, listen, upstream, err)
	}
	h.log.Debug("Proxy added", "proxy", name, "listen", p.Listen, "upstream", upstream)
	return p.Listen, nil
}

// ProxyAddr returns the listen address of the named proxy.
func (h *Host) ProxyAddr(name string) (string, error) {
	p, err := h.api.Collection.Get(name)
	if err != nil {
		return "", fmt.Errorf("toxiproxy proxy %s: %w", name, err)
	}
	return p.Listen, nil
}

// Close stops every proxy and the API server.
func (h *Host) Close() error {
	err := h.api.Collection.Clear()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if e := h.srv.Shutdown(ctx); e != nil {
		err = errors.Join(err, e)
	}
	return errors.Join(err, <-h.done)
}

// slogWriter forwards zerolog's JSON lines to slog at debug level.
type slogWriter struct{ log *slog.Logger }

func (w *slogWriter) Write(p []byte) (int, error) {
	w.log.Debug(string(bytes.TrimSpace(p)))
	return len(p), nil
}

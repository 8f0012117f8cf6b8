package metricsvc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/ticketflow/app"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
	"github.com/ticketflow-lab/tflab/system/ticketflow/httpjson"
	"github.com/ticketflow-lab/tflab/system/ticketflow/metrics"
)

var _ service.Main = Main

// Settings keys of the Metrics service.
const (
	// SettingStaleAfter: an instance whose last tick is older is shown
	// Unknown (default 15s: three default tick intervals).
	SettingStaleAfter = "metrics-stale-after"
	// SettingKeepAlive is the SSE keep-alive comment period (default 15s).
	SettingKeepAlive = "sse-keep-alive"
)

// Main runs the Metrics service until ctx ends.
func Main(ctx context.Context, cfg service.Config, log *slog.Logger) error {
	rt, err := app.New(ctx, cfg, log, app.Spec{Service: contracts.Metrics})
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	if _, err := Wire(ctx, rt); err != nil {
		_ = rt.Close()
		return fmt.Errorf("metrics: %w", err)
	}
	return rt.Run(ctx)
}

// Wire registers the live-metrics consumer and the routes on rt and returns
// the aggregator (Main without New and Run). Streams end when ctx ends.
func Wire(ctx context.Context, rt *app.Runtime) (*metrics.Aggregator, error) {
	stale, err1 := rt.Duration(SettingStaleAfter, 15*time.Second)
	keep, err2 := rt.Duration(SettingKeepAlive, 15*time.Second)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("settings: %w", err)
	}
	agg := metrics.NewAggregator(rt.Clock(), stale)
	rt.Handle(contracts.QueueLiveMetrics, contracts.TypeMetricTick, func(_ context.Context, tx *app.Tx, msg contracts.Message) error {
		t, ok := msg.(contracts.MetricTick)
		if !ok {
			return fmt.Errorf("metrics: want MetricTick, got %s", msg.MessageType())
		}
		tx.OnCommit(func() { agg.Add(t) })
		return nil
	})
	live := metrics.LiveHandler(agg, keep, rt.Log())
	rt.HandleFunc("GET /live-metrics", func(w http.ResponseWriter, r *http.Request) {
		// End the stream when the service stops: the HTTP drain waits for
		// open requests, and a stream never finishes by itself.
		rctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		stop := context.AfterFunc(ctx, cancel)
		defer stop()
		live.ServeHTTP(w, r.WithContext(rctx))
	})
	rt.HandleFunc("GET /live-metrics/latest", func(w http.ResponseWriter, _ *http.Request) {
		httpjson.Write(w, http.StatusOK, agg.Latest())
	})
	return agg, nil
}

package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/ticketflow-lab/tflab/tracing/spanfile"
)

// Resource attribute keys every provider sets.
const (
	ServiceNameKey       = attribute.Key("service.name")
	ServiceInstanceIDKey = attribute.Key("service.instance.id")
)

// Config describes one process's tracing. Only cmd fills it: it reads
// OTEL_EXPORTER_OTLP_ENDPOINT and passes it as OTLPEndpoint.
type Config struct {
	ServiceName string // service.name, e.g. "tickets"; required
	Instance    string // service.instance.id, e.g. "tickets-1"; required
	// SpanFile is the JSONL span file, runs/<run>/traces/<instance>.jsonl.
	// Empty: no span file.
	SpanFile string
	// Fsync makes the span file fsync after every span (see spanfile).
	Fsync bool
	// OTLPEndpoint, when set, adds a batched OTLP/HTTP (protobuf) exporter:
	// a base URL such as "http://127.0.0.1:4318" ("/v1/traces" is
	// appended, as for OTEL_EXPORTER_OTLP_ENDPOINT) or a bare host:port
	// (plain HTTP). The exporter still reads the other OTEL_EXPORTER_OTLP_*
	// variables (headers, timeout, compression) itself.
	OTLPEndpoint string
	// Logger receives span-file write errors. Nil discards.
	Logger *slog.Logger
}

// Validate reports what is missing or malformed.
func (c Config) Validate() error {
	var errs []error
	if c.ServiceName == "" {
		errs = append(errs, errors.New("tracing: ServiceName is required"))
	}
	if c.Instance == "" {
		errs = append(errs, errors.New("tracing: Instance is required"))
	}
	if c.OTLPEndpoint != "" {
		if _, err := tracesURL(c.OTLPEndpoint); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// tracesURL turns an OTLP base endpoint into the traces URL.
func tracesURL(endpoint string) (string, error) {
	if !strings.Contains(endpoint, "://") {
		endpoint = "http://" + endpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("tracing: OTLP endpoint %q is not an http(s) URL or host:port", endpoint)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
	return u.String(), nil
}

// Setup builds the process's TracerProvider: always-on sampling, a resource
// with service.name and service.instance.id, the span file processor (when
// SpanFile is set) registered first, and the OTLP exporter behind a batcher
// (when OTLPEndpoint is set). It does not touch the global provider or
// propagator; tracing/otelamqp propagates W3C trace context explicitly.
//
// shutdown flushes the OTLP batch, fsyncs and closes the span file; call it
// on orderly exit with a deadline.
func Setup(ctx context.Context, cfg Config) (*sdktrace.TracerProvider, func(context.Context) error, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithResource(resource.NewSchemaless(
			ServiceNameKey.String(cfg.ServiceName),
			ServiceInstanceIDKey.String(cfg.Instance),
		)),
	}
	var file *spanfile.Processor
	if cfg.SpanFile != "" {
		p, err := spanfile.Open(cfg.SpanFile, spanfile.Options{
			Service: cfg.ServiceName, Instance: cfg.Instance, Fsync: cfg.Fsync, Logger: cfg.Logger,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("tracing: %w", err)
		}
		file = p
		opts = append(opts, sdktrace.WithSpanProcessor(p))
	}
	if cfg.OTLPEndpoint != "" {
		u, _ := tracesURL(cfg.OTLPEndpoint) // checked by Validate
		exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(u))
		if err != nil {
			if file != nil {
				_ = file.Shutdown(ctx)
			}
			return nil, nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
	}
	tp := sdktrace.NewTracerProvider(opts...)
	shutdown := func(ctx context.Context) error {
		if err := tp.Shutdown(ctx); err != nil {
			return fmt.Errorf("tracing: shutdown: %w", err)
		}
		return nil
	}
	return tp, shutdown, nil
}

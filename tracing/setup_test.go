package tracing

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/ticketflow-lab/tflab/tracing/otelamqp"
)

func TestConfigValidate(t *testing.T) {
	ok := Config{ServiceName: "tickets", Instance: "tickets-1"}
	for _, c := range []struct {
		name  string
		cfg   Config
		valid bool
	}{
		{"minimal", ok, true},
		{"no service", Config{Instance: "i"}, false},
		{"no instance", Config{ServiceName: "s"}, false},
		{"url endpoint", Config{ServiceName: "s", Instance: "i", OTLPEndpoint: "http://127.0.0.1:4318"}, true},
		{"host:port endpoint", Config{ServiceName: "s", Instance: "i", OTLPEndpoint: "127.0.0.1:4318"}, true},
		{"grpc scheme", Config{ServiceName: "s", Instance: "i", OTLPEndpoint: "grpc://127.0.0.1:4317"}, false},
		{"garbage", Config{ServiceName: "s", Instance: "i", OTLPEndpoint: "http://"}, false},
	} {
		if err := c.cfg.Validate(); (err == nil) != c.valid {
			t.Errorf("%s: Validate() = %v, want valid=%v", c.name, err, c.valid)
		}
	}
	if _, _, err := Setup(t.Context(), Config{}); err == nil {
		t.Fatal("Setup accepted an invalid config")
	}
}

func TestTracesURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:4318":  "http://127.0.0.1:4318/v1/traces",
		"http://127.0.0.1:4318/": "http://127.0.0.1:4318/v1/traces",
		"https://collector/otlp": "https://collector/otlp/v1/traces",
		"127.0.0.1:4318":         "http://127.0.0.1:4318/v1/traces",
	} {
		if got, err := tracesURL(in); err != nil || got != want {
			t.Errorf("tracesURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// TestPropagationAcrossProcesses: a publisher and a consumer, each with its
// own provider and span file, pass W3C trace context through AMQP headers;
// the reader sees one connected trace across both files.
func TestPropagationAcrossProcesses(t *testing.T) {
	run := t.TempDir()
	pubTP, pubDown, err := Setup(t.Context(), Config{ServiceName: "inquiries", Instance: "inquiries-1",
		SpanFile: filepath.Join(run, "traces", "inquiries-1.jsonl")})
	if err != nil {
		t.Fatal(err)
	}
	conTP, conDown, err := Setup(t.Context(), Config{ServiceName: "tickets", Instance: "tickets-1",
		SpanFile: filepath.Join(run, "traces", "tickets-1.jsonl")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, root := pubTP.Tracer("test").Start(t.Context(), "POST /inquiries", trace.WithSpanKind(trace.SpanKindServer))
	pctx, pub := pubTP.Tracer("test").Start(ctx, "publish InquirySubmitted", trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(otelamqp.MessagingMessageID.String("m-1"), otelamqp.LabMessageType.String("InquirySubmitted")))
	headers := otelamqp.Inject(pctx, nil)
	pub.End()
	root.End()

	// The "consumer process" only sees the headers.
	cctx := otelamqp.Extract(context.Background(), amqp.Table(headers))
	_, h := conTP.Tracer("test").Start(cctx, "process InquirySubmitted", trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(otelamqp.MessagingMessageID.String("m-1"), otelamqp.LabMessageType.String("InquirySubmitted")))
	h.End()
	for _, down := range []func(context.Context) error{pubDown, conDown} {
		if err := down(t.Context()); err != nil {
			t.Fatal(err)
		}
	}

	r := readRunSpans(t, run)
	if len(r) != 3 || r.traces() != 1 || len(r.orphans()) != 0 {
		t.Fatalf("spans %d, traces %d, orphans %v", len(r), r.traces(), r.orphans())
	}
	spans := r.byAttr(otelamqp.MessagingMessageID)["m-1"]
	if len(spans) != 2 {
		t.Fatalf("message m-1 has %d spans", len(spans))
	}
	handling := spans[1]
	parent, ok := r.parent(handling)
	if !ok || parent.Name != "publish InquirySubmitted" || parent.Service != "inquiries" || handling.Service != "tickets" || handling.Instance != "tickets-1" {
		t.Fatalf("handling %+v parent %+v (%v)", handling, parent, ok)
	}
}

// otlpReceiver is a minimal OTLP/HTTP traces endpoint.
type otlpReceiver struct {
	mu       sync.Mutex
	spans    []string
	services []string
	traceIDs map[string]bool
	paths    []string
}

func (rc *otlpReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body := io.Reader(req.Body)
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var msg collectortrace.ExportTraceServiceRequest
	if req.Header.Get("Content-Type") != "application/x-protobuf" || proto.Unmarshal(raw, &msg) != nil {
		http.Error(w, "want application/x-protobuf ExportTraceServiceRequest", http.StatusUnsupportedMediaType)
		return
	}
	rc.mu.Lock()
	rc.paths = append(rc.paths, req.URL.Path)
	for _, rs := range msg.GetResourceSpans() {
		attrs := map[string]string{}
		for _, kv := range rs.GetResource().GetAttributes() {
			attrs[kv.GetKey()] = kv.GetValue().GetStringValue()
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				rc.spans = append(rc.spans, s.GetName())
				rc.services = append(rc.services, attrs["service.name"]+"/"+attrs["service.instance.id"])
				rc.traceIDs[string(s.GetTraceId())] = true
			}
		}
	}
	rc.mu.Unlock()
	resp, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(resp)
}

// TestSetupOTLP: with an endpoint set, spans reach an OTLP/HTTP receiver
// through the real exporter over real HTTP, and the span file still gets
// them.
func TestSetupOTLP(t *testing.T) {
	rc := &otlpReceiver{traceIDs: map[string]bool{}}
	srv := httptest.NewServer(rc) // listens on 127.0.0.1
	defer srv.Close()
	run := t.TempDir()
	tp, shutdown, err := Setup(t.Context(), Config{ServiceName: "sla", Instance: "sla-1",
		SpanFile: filepath.Join(run, "traces", "sla-1.jsonl"), OTLPEndpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	tr := tp.Tracer("test")
	ctx, parent := tr.Start(t.Context(), "tick", trace.WithAttributes(attribute.Int("n", 1)))
	for _, name := range []string{"check ticket 1", "check ticket 2"} {
		_, s := tr.Start(ctx, name)
		s.End()
	}
	parent.End()
	sctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	slices.Sort(rc.spans)
	if want := []string{"check ticket 1", "check ticket 2", "tick"}; !slices.Equal(rc.spans, want) {
		t.Fatalf("receiver got spans %q, want %q", rc.spans, want)
	}
	if len(rc.traceIDs) != 1 || rc.services[0] != "sla/sla-1" || !slices.ContainsFunc(rc.paths, func(p string) bool { return p == "/v1/traces" }) {
		t.Fatalf("trace ids %d, services %q, paths %q", len(rc.traceIDs), rc.services, rc.paths)
	}
	if r := readRunSpans(t, run); len(r) != 3 {
		t.Fatalf("span file: %d spans, want 3", len(r))
	}
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("receiver not on 127.0.0.1: %s", srv.URL)
	}
}

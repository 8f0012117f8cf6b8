package runtime_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ticketflow-lab/tflab/system/runtime"
	"github.com/ticketflow-lab/tflab/system/service"
)

// cfg is a config for a service without a broker (the URL is never dialled).
func cfg(t *testing.T, dir string, settings map[string]string) service.Config {
	t.Helper()
	return service.Config{System: "test", Name: "svc", Instance: 1, AMQPURL: "amqp://guest:guest@127.0.0.1:1/",
		HTTPAddr: "127.0.0.1:0", DBPath: filepath.Join(dir, "svc.db"), Seed: 42, Settings: settings}
}

func newRuntime(t *testing.T, c service.Config, spec runtime.Spec) *runtime.Runtime {
	t.Helper()
	rt, err := runtime.New(t.Context(), c, nil, spec)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

func TestSettingsParseAndReject(t *testing.T) {
	s, err := runtime.ParseSettings(service.Config{Settings: map[string]string{
		runtime.SettingHeartbeat: "2s", runtime.SettingConfirmTimeout: "750ms", runtime.SettingOutboxPoll: "100ms",
		runtime.SettingClockOffset: "-1h30m", runtime.SettingOTLPEndpoint: "http://127.0.0.1:4318"}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Heartbeat != 2*time.Second || s.ConfirmTimeout != 750*time.Millisecond || s.OutboxPoll != 100*time.Millisecond ||
		s.ClockOffset != -90*time.Minute || s.OTLPEndpoint != "http://127.0.0.1:4318" || s.ShutdownTimeout != runtime.DefaultShutdownTimeout {
		t.Fatalf("parsed %+v", s)
	}
	for k, v := range map[string]string{runtime.SettingHeartbeat: "soon", runtime.SettingShutdownTimeout: "-1s",
		runtime.SettingClockOffset: "x"} {
		if _, err := runtime.ParseSettings(service.Config{Settings: map[string]string{k: v}}); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%q: %v, want an error naming the key", k, v, err)
		}
	}
	set := map[string]string{"poll": "0s", "n": "0", "bad": "x"}
	if _, err := runtime.PositiveDuration(set, "poll", time.Second); err == nil {
		t.Error("poll=0s accepted as positive")
	}
	if d, err := runtime.PositiveDuration(set, "absent", time.Second); err != nil || d != time.Second {
		t.Errorf("absent: %v %v, want the default", d, err)
	}
	n := 7
	if err := runtime.Int(set, "n", &n, 1); err == nil || n != 7 {
		t.Errorf("n=0 with lowest 1: %v, n=%d", err, n)
	}
	if err := runtime.Int(set, "absent", &n, 1); err != nil || n != 7 {
		t.Errorf("absent int: %v, n=%d", err, n)
	}
}

// Ids are UUIDv4, repeat with the same seed and start count, and differ
// after a restart (the start count is kept in the store).
func TestNewIDIsSeededPerStart(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	first := func(dir string) (*runtime.Runtime, []string) {
		rt := newRuntime(t, cfg(t, dir, nil), runtime.Spec{Service: "svc"})
		defer rt.Close()
		var out []string
		for range 100 {
			out = append(out, rt.NewID())
		}
		return rt, out
	}
	a1, idsA := first(dirA)
	_, idsB := first(dirB)
	a2, idsA2 := first(dirA)
	if a1.Starts() != 1 || a2.Starts() != 2 {
		t.Fatalf("starts %d then %d, want 1 then 2", a1.Starts(), a2.Starts())
	}
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for i := range idsA {
		if !re.MatchString(idsA[i]) {
			t.Fatalf("%q is not a UUIDv4", idsA[i])
		}
		if idsA[i] != idsB[i] {
			t.Fatalf("same seed and start differ: %s vs %s", idsA[i], idsB[i])
		}
		seen[idsA[i]] = true
	}
	for _, id := range idsA2 {
		if seen[id] {
			t.Fatalf("the second start repeated id %s", id)
		}
	}
}

func TestNewRejectsAMismatchedSpec(t *testing.T) {
	c := cfg(t, t.TempDir(), nil)
	if _, err := runtime.New(t.Context(), c, nil, runtime.Spec{Service: "other"}); err == nil || !strings.Contains(err.Error(), "other") {
		t.Fatalf("spec for another service: %v", err)
	}
	c.DBPath = ""
	if _, err := runtime.New(t.Context(), c, nil, runtime.Spec{Service: "svc"}); err == nil {
		t.Fatal("no database path accepted")
	}
	c = cfg(t, t.TempDir(), map[string]string{runtime.SettingHeartbeat: "soon"})
	if _, err := runtime.New(t.Context(), c, nil, runtime.Spec{Service: "svc"}); err == nil || !strings.Contains(err.Error(), "heartbeat") {
		t.Fatalf("bad setting: %v", err)
	}
}

func get(t *testing.T, h http.Handler, method, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, r))
	return rec
}

// Health without a bus answers the store's state; a system's Health adds
// its fields around the runtime's part and keeps its status.
func TestHealthWithoutBusAndWithSystemFields(t *testing.T) {
	rt := newRuntime(t, cfg(t, t.TempDir(), nil), runtime.Spec{Service: "svc"})
	defer rt.Close()
	rec := get(t, rt.Handler(), http.MethodGet, "/health", "")
	var h runtime.Health
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &h) != nil || h.Status != "Healthy" || !h.DB.OK || h.Service != "svc" {
		t.Fatalf("health %d %s", rec.Code, rec.Body)
	}

	type body struct {
		runtime.Health
		Extra string `json:"extra"`
	}
	spec := runtime.Spec{Service: "svc", Health: func(b runtime.Health, connected bool) any {
		return body{Health: b, Extra: fmt.Sprint("connected=", connected)}
	}}
	rt2 := newRuntime(t, cfg(t, t.TempDir(), nil), spec)
	rt2.Close() // the store is closed: unhealthy
	rec = get(t, rt2.Handler(), http.MethodGet, "/health", "")
	var b body
	if rec.Code != http.StatusServiceUnavailable || json.Unmarshal(rec.Body.Bytes(), &b) != nil ||
		b.Status != "Unhealthy" || b.DB.OK || b.DB.Error == "" || b.Extra != "connected=false" {
		t.Fatalf("health of a closed store %d %s", rec.Code, rec.Body)
	}
}

// Clock skew may go either way: a negative clock-offset setting and a
// negative POST /lab/clock are both accepted; bad bodies are answered in
// the system's error format.
func TestLabClock(t *testing.T) {
	c := cfg(t, t.TempDir(), map[string]string{runtime.SettingClockOffset: "-1h30m"})
	type sysErr struct{ Oops string }
	spec := runtime.Spec{Service: "svc", JSON: runtime.JSON{
		BadRequest: func(msg string) error { return errors.New("bad: " + msg) },
		Error: func(w http.ResponseWriter, err error) {
			runtime.WriteJSON(w, http.StatusTeapot, sysErr{err.Error()})
		}}}
	rt := newRuntime(t, c, spec)
	defer rt.Close()
	if got := rt.Clock().Now().Sub(time.Now()); got > -89*time.Minute || got < -91*time.Minute {
		t.Fatalf("clock-offset=-1h30m: clock off by %v", got)
	}
	for _, ms := range []int64{-3000, 0, 5000, -86_400_000} {
		rec := get(t, rt.Handler(), http.MethodPost, "/lab/clock", fmt.Sprintf(`{"offsetMs":%d}`, ms))
		var body runtime.ClockBody
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &body) != nil || body.OffsetMs != ms {
			t.Fatalf("POST offsetMs %d: %d %s", ms, rec.Code, rec.Body)
		}
		if skew := time.Until(rt.Clock().Now()) - time.Duration(ms)*time.Millisecond; skew > time.Second || skew < -time.Second {
			t.Fatalf("clock now off by %v from offset %d ms", skew, ms)
		}
	}
	rec := get(t, rt.Handler(), http.MethodPost, "/lab/clock", `{}`)
	var e sysErr
	if rec.Code != http.StatusTeapot || json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Oops != "bad: offsetMs is required" {
		t.Fatalf("missing offsetMs: %d %s, want the system's error", rec.Code, rec.Body)
	}
	rec = get(t, newRuntime(t, cfg(t, t.TempDir(), nil), runtime.Spec{Service: "svc"}).Handler(), http.MethodPost, "/lab/clock", `{`)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "invalid JSON body") {
		t.Fatalf("default JSON, bad body: %d %s", rec.Code, rec.Body)
	}
}

// Run serves HTTP and runs the loops until ctx ends, then stops cleanly; a
// failing loop stops the service with its error.
func TestRunServesLoopsAndStops(t *testing.T) {
	rt := newRuntime(t, cfg(t, t.TempDir(), nil), runtime.Spec{Service: "svc",
		Middleware: func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Wrapped", "yes")
				h.ServeHTTP(w, r)
			})
		}})
	started := make(chan struct{})
	rt.Go("waiter", func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- rt.Run(ctx) }()
	<-started
	resp, err := http.Get("http://" + rt.Addr() + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Wrapped") != "yes" {
		t.Fatalf("GET /health: %d, wrapped %q", resp.StatusCode, resp.Header.Get("X-Wrapped"))
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("clean stop returned %v", err)
	}
	if err := rt.Run(t.Context()); err == nil {
		t.Fatal("second Run accepted")
	}

	rt = newRuntime(t, cfg(t, t.TempDir(), nil), runtime.Spec{Service: "svc"})
	boom := errors.New("boom")
	rt.Go("failing", func(context.Context) error { return boom })
	if err := rt.Run(t.Context()); !errors.Is(err, boom) || !strings.Contains(err.Error(), "loop failing") {
		t.Fatalf("failing loop: %v", err)
	}
}

func TestCORSAllowsAnyOriginAndAnswersPreflight(t *testing.T) {
	called := false
	h := runtime.CORS(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { called = true }))
	req := httptest.NewRequest(http.MethodOptions, "/anomalies", nil)
	req.Header.Set("Origin", "http://localhost:21000")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNoContent || called {
		t.Fatalf("preflight: code %d, handler called %v", rec.Code, called)
	}
	if rec.Header().Get("Access-Control-Allow-Origin") != "*" || rec.Header().Get("Access-Control-Allow-Headers") != "content-type" {
		t.Fatalf("headers %v", rec.Header())
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/health", nil))
	if !called || rec.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Fatal("simple request not passed through with CORS header")
	}
}

func TestTraceContextMakesTheCallerTheParent(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer func() { _ = tp.Shutdown(t.Context()) }()
	h := runtime.TraceContext(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, span := tp.Tracer("test").Start(r.Context(), "command Test")
		span.End()
	}))
	req := httptest.NewRequest(http.MethodPost, "/tickets/1/qualify", nil)
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	h.ServeHTTP(httptest.NewRecorder(), req)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/health", nil))
	spans := exp.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("%d spans", len(spans))
	}
	if got := spans[0].SpanContext.TraceID().String(); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Fatalf("trace %s, want the caller's", got)
	}
	if got := spans[0].Parent.SpanID().String(); got != "00f067aa0ba902b7" || !spans[0].Parent.IsRemote() {
		t.Fatalf("parent %s (remote %v), want the caller's span", got, spans[0].Parent.IsRemote())
	}
	if spans[1].Parent.IsValid() || spans[1].SpanContext.TraceID() == spans[0].SpanContext.TraceID() {
		t.Fatal("a request without traceparent must start a new trace")
	}
}

func TestMessagingConfigTakesTheSpecsBus(t *testing.T) {
	c := service.Config{Name: "tickets", Instance: 2, AMQPURL: "amqp://x", QueueType: "quorum"}
	s := runtime.Settings{ConfirmTimeout: time.Second, Heartbeat: 2 * time.Second, OutboxPoll: time.Millisecond}
	mc := runtime.MessagingConfig(c, s, runtime.Bus{DirectPublish: "after-commit", HandlerTimeout: 3 * time.Second})
	if mc.Instance != "tickets-2" || mc.Service != "tickets" || mc.QueueType != "quorum" || mc.Publisher.ConfirmTimeout != time.Second ||
		mc.Heartbeat != 2*time.Second || mc.Outbox.PollInterval != time.Millisecond || mc.DirectPublish != "after-commit" ||
		mc.HandlerTimeout != 3*time.Second {
		t.Fatalf("config %+v", mc)
	}
}

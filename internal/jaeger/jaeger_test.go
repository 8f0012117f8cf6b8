package jaeger

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestLocate(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(t.TempDir())
	t.Setenv("PATH", t.TempDir())
	if _, err := Locate(dir); !errors.Is(err, ErrNotBuilt) || !strings.Contains(err.Error(), "make jaeger") {
		t.Fatalf("Locate without a binary: %v", err)
	}
	bin := filepath.Join(dir, "jaeger")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := Locate(dir); err != nil || got != bin {
		t.Fatalf("Locate = %q, %v; want %q", got, err, bin)
	}
}

// TestQueryAPI decodes the query API's documents as Jaeger serves them.
func TestQueryAPI(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api/services":
			_ = json.NewEncoder(w).Encode(map[string]any{"data": []string{"inquiries", "tickets"}})
		case r.URL.Path == "/api/traces" && r.URL.Query().Get("service") == "inquiries":
			w.Write([]byte(`{"data":[{"traceID":"t1","spans":[
				{"traceID":"t1","spanID":"a","operationName":"POST /inquiries","processID":"p1","references":[]},
				{"traceID":"t1","spanID":"b","operationName":"process","processID":"p2","references":[{"refType":"CHILD_OF","traceID":"t1","spanID":"a"}]},
				{"traceID":"t1","spanID":"c","operationName":"publish","processID":"p1","references":[{"refType":"CHILD_OF","traceID":"t1","spanID":"a"}]}],
				"processes":{"p1":{"serviceName":"inquiries"},"p2":{"serviceName":"tickets"}}}]}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	svcs, err := Services(ctx, srv.URL)
	if err != nil || !slices.Equal(svcs, []string{"inquiries", "tickets"}) {
		t.Fatalf("Services = %v, %v", svcs, err)
	}
	traces, err := Traces(ctx, srv.URL, "inquiries", 10)
	if err != nil || len(traces) != 1 {
		t.Fatalf("Traces = %+v, %v", traces, err)
	}
	if got := traces[0].Services(); !slices.Equal(got, []string{"inquiries", "tickets"}) {
		t.Fatalf("trace services = %v", got)
	}
	if traces[0].Spans[1].References[0].SpanID != "a" {
		t.Fatalf("references not decoded: %+v", traces[0].Spans[1])
	}
	if _, err := GetTrace(ctx, srv.URL, "missing"); err == nil {
		t.Fatal("GetTrace of a 404 succeeded")
	}
}

func TestRenderConfigUsesEveryPort(t *testing.T) {
	cfg := renderConfig(40001, 40002, 40003)
	for _, want := range []string{"127.0.0.1:40001", "127.0.0.1:40002", "127.0.0.1:40003", "jaeger_query", "memory"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config lacks %q:\n%s", want, cfg)
		}
	}
	if strings.Contains(cfg, "localhost:") || strings.Contains(cfg, "0.0.0.0") {
		t.Errorf("config listens beyond the given loopback ports:\n%s", cfg)
	}
}

// Jaeger runs in its config dir and is given its config by path, so a
// relative dir (a run directory under runs/) must still name the file.
func TestStartWithARelativeDirFindsItsConfig(t *testing.T) {
	t.Chdir(t.TempDir())
	marker := filepath.Join(t.TempDir(), "config-read")
	bin := filepath.Join(t.TempDir(), "jaeger")
	script := "#!/bin/sh\n[ \"$1\" = --config ] && [ -r \"${2#file:}\" ] && echo ok > " + marker + "\nexit 1\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Start(t.Context(), Config{Binary: bin, Dir: filepath.Join("runs", "x", "jaeger")})
	if err == nil {
		t.Fatal("a binary that exits started")
	}
	if _, serr := os.Stat(marker); serr != nil {
		t.Fatalf("the binary could not read its config through the path it was given (start: %v)", err)
	}
}

package httpget

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestGet(t *testing.T) {
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"ok":true}`)) })
	mux.HandleFunc("/down", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) })
	mux.HandleFunc("/garbage", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`not json`)) })
	mux.HandleFunc("/hang", func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer close(release)

	var body struct{ OK bool }
	if err := Get(t.Context(), srv.URL+"/ok", 5*time.Second, &body); err != nil || !body.OK {
		t.Fatalf("ok: %v, body %+v", err, body)
	}
	if err := Get(t.Context(), srv.URL+"/ok", 5*time.Second, nil); err != nil {
		t.Fatalf("ok without a body: %v", err)
	}
	for path, want := range map[string]string{
		"/down":    "GET " + srv.URL + "/down: 503 Service Unavailable",
		"/garbage": "GET " + srv.URL + "/garbage: invalid character",
		"/hang":    "context deadline exceeded",
	} {
		err := Get(t.Context(), srv.URL+path, 200*time.Millisecond, &body)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want it to contain %q", path, err, want)
		}
	}
}

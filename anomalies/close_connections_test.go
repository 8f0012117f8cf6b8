package anomalies

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// The management API lists connections as of its last statistics emission:
// while it shows none of the service's connections, close-connections looks
// again, and closes the service's connection (only that one) once listed.
func TestCloseConnectionsLooksAgainUntilTheServicesConnectionIsListed(t *testing.T) {
	var mu sync.Mutex
	lists := 0
	var closed []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/api/connections":
			lists++
			other := `{"name":"c-tickets","client_properties":{"connection_name":"tickets-tickets-consumer"}}`
			if lists < 3 {
				_, _ = io.WriteString(w, "["+other+"]")
				return
			}
			_, _ = io.WriteString(w, `[`+other+`,{"name":"c-sla","client_properties":{"connection_name":"sla-sla-consumer"}}]`)
		case r.Method == http.MethodDelete:
			closed = append(closed, r.URL.Path)
			w.WriteHeader(http.StatusNoContent)
		default:
			http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusNotFound)
		}
	}))
	defer srv.Close()
	ev := NewEvidence()
	b := &Broker{Env: &Env{Management: &Management{URL: srv.URL}, Evidence: ev}, Op: OpCloseConnections, Service: "sla"}
	if _, err := b.Inject(t.Context()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if lists != 3 {
		t.Errorf("listed connections %d times, want 3 (twice without sla's, then with it)", lists)
	}
	if len(closed) != 1 || closed[0] != "/api/connections/c-sla" {
		t.Errorf("closed %v, want only /api/connections/c-sla", closed)
	}
	if got := ev.Counters()[CounterConnectionsClosed]; got != 1 {
		t.Errorf("%s = %v, want 1", CounterConnectionsClosed, got)
	}
}

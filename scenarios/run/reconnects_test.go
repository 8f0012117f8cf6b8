package run

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ticketflow-lab/tflab/internal/lab"
)

func TestClientReconnectsSumsEveryInstance(t *testing.T) {
	serve := func(body string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, body) }))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	in := lab.Info{Services: map[string]lab.ServiceInfo{
		"tickets": {HTTP: serve(`{"status":"Healthy","amqp":{"connected":true,"reconnects":2}}`)},
		"sla":     {HTTP: serve(`{"amqp":{"connected":true,"reconnects":0}}`)},
		"sla-2":   {HTTP: serve(`{"amqp":{"reconnects":3}}`)},
	}}
	n, err := clientReconnects(t.Context(), in)
	if err != nil || n != 5 {
		t.Fatalf("clientReconnects = %v, %v; want 5", n, err)
	}
	in.Services["placeholder"] = lab.ServiceInfo{HTTP: serve(`{"status":"Healthy"}`)}
	if _, err := clientReconnects(t.Context(), in); err == nil {
		t.Fatal("an instance without amqp.reconnects still gave a sum")
	}
}

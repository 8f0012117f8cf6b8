package anomaly

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

type recordingBroadcaster struct {
	mu   sync.Mutex
	sent []contracts.AnomalyEventWrapper
	fail error
}

func (b *recordingBroadcaster) Broadcast(_ context.Context, c contracts.AnomalyEventWrapper) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sent = append(b.sent, c)
	return b.fail
}

func do(t *testing.T, srv *httptest.Server, method, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestHTTPAPI(t *testing.T) {
	reg := NewRegistry(nil)
	bc := &recordingBroadcaster{}
	srv := httptest.NewServer(NewHandler(reg, bc, nil))
	defer srv.Close()

	code, body := do(t, srv, "GET", "/anomalies", "")
	if code != 200 || strings.TrimSpace(string(body)) != "[]" {
		t.Fatalf("empty list: %d %s", code, body)
	}

	code, body = do(t, srv, "POST", "/anomalies", `{"anomalyType":"ConsumerDelayBeforeHandler","messageType":"InquirySubmitted","additionalParams":{"DelayInMs":"500"}}`)
	if code != 200 {
		t.Fatalf("enable: %d %s", code, body)
	}
	code, body = do(t, srv, "GET", "/anomalies", "")
	var views []View
	if err := json.Unmarshal(body, &views); err != nil || code != 200 {
		t.Fatalf("list: %d %s %v", code, body, err)
	}
	if len(views) != 1 || views[0].AnomalyType != "ConsumerDelayBeforeHandler" || views[0].MessageType != "InquirySubmitted" || views[0].Params["DelayInMs"] != "500" {
		t.Fatalf("views = %+v", views)
	}
	// original JSON keys
	if !bytes.Contains(body, []byte(`"anomalyType"`)) || !bytes.Contains(body, []byte(`"params"`)) {
		t.Fatalf("list JSON keys: %s", body)
	}

	for _, tc := range []struct{ method, path, body, want string }{
		{"POST", "/anomalies", `{"anomalyType":"Chaos","messageType":"X"}`, "unknown anomaly type"},
		{"POST", "/anomalies", `{"anomalyType":"ConsumerDelayBeforeHandler","messageType":"X","additionalParams":{"DelayInMs":"x"}}`, "DelayInMs"},
		{"POST", "/anomalies", `not json`, "invalid JSON"},
		{"DELETE", "/anomalies/Chaos/messages/X", "", "unknown anomaly type"},
	} {
		code, body := do(t, srv, tc.method, tc.path, tc.body)
		var eb struct{ Message string }
		_ = json.Unmarshal(body, &eb)
		if code != 400 || !strings.Contains(eb.Message, tc.want) {
			t.Errorf("%s %s %s: %d %s, want 400 with %q", tc.method, tc.path, tc.body, code, body, tc.want)
		}
	}

	code, body = do(t, srv, "DELETE", "/anomalies/ConsumerDelayBeforeHandler/messages/InquirySubmitted", "")
	if code != 200 || !bytes.Contains(body, []byte(`"removed":true`)) {
		t.Fatalf("disable: %d %s", code, body)
	}
	if len(reg.List()) != 0 {
		t.Fatal("DELETE did not disable")
	}
	bc.mu.Lock()
	sent := bc.sent
	bc.mu.Unlock()
	if len(sent) != 2 || sent[0].Enabled == nil || sent[0].Enabled.AdditionalParams["DelayInMs"] != "500" || sent[1].Disabled == nil {
		t.Fatalf("broadcasts = %+v", sent)
	}

	if code, _ := do(t, srv, "PUT", "/anomalies", ""); code != http.StatusMethodNotAllowed {
		t.Fatalf("PUT /anomalies = %d", code)
	}
}

func TestHTTPBroadcastFailureStillAppliesLocally(t *testing.T) {
	reg := NewRegistry(nil)
	srv := httptest.NewServer(NewHandler(reg, &recordingBroadcaster{fail: errors.New("broker down")}, nil))
	defer srv.Close()
	code, body := do(t, srv, "POST", "/anomalies", `{"anomalyType":"ProducerErrorWithinTransaction","messageType":"TicketCreated"}`)
	if code != http.StatusServiceUnavailable || !strings.Contains(string(body), "broadcast") {
		t.Fatalf("got %d %s", code, body)
	}
	if len(reg.List()) != 1 {
		t.Fatal("change not applied locally")
	}
}

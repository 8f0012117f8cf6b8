package httpjson

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantCode int
		wantMsg  string
	}{
		{"bad request", Badf("name is required"), 400, "name is required"},
		{"wrapped not found", fmt.Errorf("load: %w", NotFound(errors.New("ticket x not found"))), 404, "load: ticket x not found"},
		{"conflict", Conflict(errors.New("already resolved")), 409, "already resolved"},
		{"plain error hides details", errors.New("db password wrong"), 500, "internal error"},
		{"coded 503 keeps its message", &StatusError{Code: 503, Err: errors.New("broadcast failed")}, 503, "broadcast failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			Error(rec, nil, tt.err)
			if rec.Code != tt.wantCode {
				t.Fatalf("code = %d, want %d", rec.Code, tt.wantCode)
			}
			var body ErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if body.Message != tt.wantMsg {
				t.Fatalf("message = %q, want %q", body.Message, tt.wantMsg)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("content type %q", ct)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	type body struct {
		Name string `json:"name"`
	}
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"ok with unknown field", `{"name":"a","extra":1}`, ""},
		{"empty", ``, "empty"},
		{"broken", `{"name":`, "invalid JSON"},
		{"two values", `{"name":"a"} {}`, "more than one"},
		{"too big", `{"name":"` + strings.Repeat("x", MaxBody) + `"}`, "exceeds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.in))
			var b body
			err := Decode(r, &b)
			if tt.wantErr == "" {
				if err != nil || b.Name != "a" {
					t.Fatalf("err=%v name=%q", err, b.Name)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || StatusOf(err) != 400 {
				t.Fatalf("err = %v (status %d), want 400 containing %q", err, StatusOf(err), tt.wantErr)
			}
		})
	}
}

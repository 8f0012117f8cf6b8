package common_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
)

func TestParseTogglesDefaultsToFixed(t *testing.T) {
	tg, err := common.ParseToggles(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range common.AllToggles {
		if !tg.Fixed(g) {
			t.Errorf("%s: faithful by default", g)
		}
	}
	if tg.Version != common.VersionSkipApplied || tg.String() != "fixed" {
		t.Errorf("default = %s (%s), want fixed", tg, tg.Version)
	}
}

func TestParseTogglesEachToggleSwitchesAlone(t *testing.T) {
	for _, g := range common.AllToggles {
		tg, err := common.ParseToggles(map[string]string{string(g): common.ValueFaithful}, nil)
		if err != nil {
			t.Fatalf("%s: %v", g, err)
		}
		if got := tg.FaithfulList(); !slices.Equal(got, []common.Toggle{g}) {
			t.Errorf("%s=faithful: faithful toggles %v", g, got)
		}
		back, err := common.ParseToggles(tg.Settings(), nil)
		if err != nil || back.String() != tg.String() {
			t.Errorf("%s: settings round trip %v → %s (%v)", g, tg.Settings(), back, err)
		}
	}
}

func TestParseTogglesVersionModesAndErrors(t *testing.T) {
	for v, want := range map[string]common.VersionMode{"off": common.VersionOff, "strict": common.VersionStrict,
		"faithful": common.VersionStrict, "fixed": common.VersionSkipApplied, "strict+skipApplied": common.VersionSkipApplied} {
		tg, err := common.ParseToggles(map[string]string{"versionRule": v}, nil)
		if err != nil || tg.Version != want {
			t.Errorf("versionRule=%s: %s, %v; want %s", v, tg.Version, err, want)
		}
	}
	_, err := common.ParseToggles(map[string]string{"versionRule": "loose", "outbox": "maybe"}, nil)
	if err == nil || !strings.Contains(err.Error(), "versionRule") || !strings.Contains(err.Error(), "outbox") {
		t.Errorf("bad values: %v, want both keys named", err)
	}
	tg, err := common.ParseToggles(nil, []string{"outbox"})
	if err != nil || !tg.IsFaithful(common.Outbox) {
		t.Errorf("unprotect outbox: outbox faithful = %v (%v)", tg.IsFaithful(common.Outbox), err)
	}
	if _, err := common.ParseToggle("nope"); err == nil || !strings.Contains(err.Error(), "versionRule") {
		t.Errorf("unknown toggle error %v should list the known ones", err)
	}
}

func TestDecideVersion(t *testing.T) {
	cases := []struct {
		mode          common.VersionMode
		stored, event int64
		want          common.Decision
	}{
		{common.VersionOff, 3, 2, common.Apply}, // a stale update overwrites
		{common.VersionOff, 3, 9, common.Apply},
		{common.VersionStrict, 3, 4, common.Apply},
		{common.VersionStrict, 3, 3, common.Retry}, // a duplicate loops (L6)
		{common.VersionStrict, 3, 5, common.Retry},
		{common.VersionSkipApplied, 3, 4, common.Apply},
		{common.VersionSkipApplied, 3, 3, common.Skip},
		{common.VersionSkipApplied, 3, 1, common.Skip},
		{common.VersionSkipApplied, 3, 5, common.Retry},
	}
	for _, c := range cases {
		if got := common.DecideVersion(c.mode, c.stored, c.event); got != c.want {
			t.Errorf("%s stored %d event %d: %d, want %d", c.mode, c.stored, c.event, got, c.want)
		}
	}
}

func TestRoutingAndQueues(t *testing.T) {
	if got := common.QueueName(common.GroupOf(common.ServiceOrders), common.SubjectTicketCreated); got != "orders-service.ticket.created" {
		t.Errorf("queue = %s", got)
	}
	if got := common.RoutingKey(common.SubjectExpirationComplete); got != "expiration.complete" {
		t.Errorf("key = %s", got)
	}
}

func TestSessionRoundTripAndTamper(t *testing.T) {
	s, err := common.NewSigner("k1")
	if err != nil {
		t.Fatal(err)
	}
	jwt, err := s.Sign(common.UserPayload{ID: "u1", Email: "a@b.c"}, time.Unix(100, 0))
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.Verify(jwt)
	if err != nil || u.ID != "u1" || u.Email != "a@b.c" || u.Iat != 100 {
		t.Fatalf("verify: %+v, %v", u, err)
	}
	other, _ := common.NewSigner("k2")
	if _, err := other.Verify(jwt); err == nil {
		t.Error("a token signed with another key verified")
	}
	parts := strings.Split(jwt, ".")
	if _, err := s.Verify(parts[0] + "." + parts[1] + "x." + parts[2]); err == nil {
		t.Error("a tampered payload verified")
	}
	got, err := common.SessionJWT(common.SessionValue(jwt))
	if err != nil || got != jwt {
		t.Errorf("cookie round trip: %q, %v", got, err)
	}
}

func TestRequireAuthAnswers401WithoutSession(t *testing.T) {
	s, _ := common.NewSigner("k")
	h := s.CurrentUser(common.RequireAuth(func(w http.ResponseWriter, r *http.Request) {
		u, _ := common.UserFrom(r.Context())
		w.Write([]byte(u.ID))
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "Not authorized") {
		t.Errorf("no session: %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(&http.Cookie{Name: common.SessionCookie, Value: "garbage"})
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("bad cookie: %d", rec.Code)
	}
	jwt, _ := s.Sign(common.UserPayload{ID: "u7"}, time.Now())
	rec = httptest.NewRecorder()
	req = httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(&http.Cookie{Name: common.SessionCookie, Value: common.SessionValue(jwt)})
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Body.String() != "u7" {
		t.Errorf("valid session: %d %s", rec.Code, rec.Body)
	}
}

func TestDecodeBodyRejectsBadBodiesWith400AndMessage(t *testing.T) {
	for name, body := range map[string]string{"empty": "", "not json": "{", "two values": "{} {}", "wrong type": `{"n":"x"}`} {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		var v struct {
			N int `json:"n"`
		}
		err := common.DecodeBody(req, &v)
		rec := httptest.NewRecorder()
		common.WriteError(rec, err)
		if err == nil || rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"message"`) {
			t.Errorf("%s: %v → %d %s", name, err, rec.Code, rec.Body)
		}
	}
}

// ReadBody answers a bad body and a failed check with the course's 400 and
// hands a good body over.
func TestReadBody(t *testing.T) {
	type body struct {
		Title string `json:"title"`
	}
	check := func(b body, v *common.Validation) { v.Check(b.Title != "", "title", "Title is required") }
	for in, want := range map[string]string{
		``:              "request body is required",
		`{`:             "invalid JSON body",
		`{"title":""}`:  "Title is required",
		`{"title":"x"}`: "",
	} {
		rec := httptest.NewRecorder()
		b, ok := common.ReadBody(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(in)), check)
		if want == "" {
			if !ok || b.Title != "x" || rec.Body.Len() != 0 {
				t.Errorf("%q: ok %v, body %+v, answered %s", in, ok, b, rec.Body)
			}
			continue
		}
		if ok || rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("%q: ok %v, %d %s, want 400 with %q", in, ok, rec.Code, rec.Body, want)
		}
	}
}

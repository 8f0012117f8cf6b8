package auth_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ticketflow-lab/tflab/system/ticketsale/auth"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/tstest"
)

// auth talks to no broker: it runs in-process without one.
func start(t *testing.T) *tstest.Instance {
	t.Helper()
	return tstest.Start(t, tstest.Config(t, common.ServiceAuth, "", 1, nil), auth.Spec, tstest.WireErr(auth.Wire))
}

func session(t *testing.T, in *tstest.Instance, path string, c auth.Credentials) (int, string, *http.Cookie) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, in.URL+path, strings.NewReader(`{"email":"`+c.Email+`","password":"`+c.Password+`"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	b := string(data)
	for _, ck := range resp.Cookies() {
		if ck.Name == common.SessionCookie {
			return resp.StatusCode, b, ck
		}
	}
	return resp.StatusCode, b, nil
}

func TestSignupSigninCurrentUserSignout(t *testing.T) {
	in := start(t)
	code, body, ck := session(t, in, "/api/users/signup", auth.Credentials{Email: "test@test.com", Password: "password"})
	if code != http.StatusCreated || ck == nil || ck.Value == "" {
		t.Fatalf("signup: %d %s cookie %v", code, body, ck)
	}
	var u auth.User
	tstest.Decode(t, []byte(body), &u)
	if u.Email != "test@test.com" || u.ID == "" || strings.Contains(body, "password") {
		t.Errorf("signup answered %s", body)
	}
	if code, body, _ := session(t, in, "/api/users/signup", auth.Credentials{Email: "test@test.com", Password: "password"}); code != http.StatusBadRequest || !strings.Contains(body, "Email in use") {
		t.Errorf("second signup: %d %s", code, body)
	}
	var cur auth.CurrentUserBody
	_, b := in.Do(t, ck, http.MethodGet, "/api/users/currentuser", nil)
	tstest.Decode(t, b, &cur)
	if cur.CurrentUser == nil || cur.CurrentUser.ID != u.ID {
		t.Errorf("currentuser with the cookie: %s", b)
	}
	_, b = in.Do(t, nil, http.MethodGet, "/api/users/currentuser", nil)
	if string(b) != "{\"currentUser\":null}\n" {
		t.Errorf("currentuser without a cookie: %s", b)
	}
	if code, body, _ := session(t, in, "/api/users/signin", auth.Credentials{Email: "test@test.com", Password: "wrong"}); code != http.StatusBadRequest || !strings.Contains(body, "Invalid credentials") {
		t.Errorf("wrong password: %d %s", code, body)
	}
	code, _, ck2 := session(t, in, "/api/users/signin", auth.Credentials{Email: "test@test.com", Password: "password"})
	if code != http.StatusOK || ck2 == nil {
		t.Errorf("signin: %d %v", code, ck2)
	}
	code, _, cleared := session(t, in, "/api/users/signout", auth.Credentials{})
	if code != http.StatusOK || cleared == nil || cleared.MaxAge >= 0 && cleared.Value != "" {
		t.Errorf("signout: %d, cookie %+v", code, cleared)
	}
}

func TestSignupRejectsBadBodies(t *testing.T) {
	in := start(t)
	for name, c := range map[string]struct {
		body, want string
	}{
		"bad email":      {`{"email":"nope","password":"password"}`, "Email must be valid"},
		"short password": {`{"email":"a@b.co","password":"p"}`, "Password must be between 4 and 20 characters"},
		"not json":       {`{"email":`, "invalid JSON body"},
		"empty":          {``, "request body is required"},
	} {
		code, body := in.Do(t, nil, http.MethodPost, "/api/users/signup", c.body)
		if code != http.StatusBadRequest || !strings.Contains(string(body), c.want) {
			t.Errorf("%s: %d %s, want 400 %q", name, code, body, c.want)
		}
	}
}

func TestPasswordHash(t *testing.T) {
	h, err := auth.HashPassword("secret")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := auth.ComparePassword(h, "secret"); !ok || err != nil {
		t.Errorf("right password: %v %v", ok, err)
	}
	if ok, _ := auth.ComparePassword(h, "Secret"); ok {
		t.Error("wrong password matched")
	}
}

func TestHealthWithoutBroker(t *testing.T) {
	in := start(t)
	code, body := in.Do(t, nil, http.MethodGet, "/health", nil)
	if code != http.StatusOK || !strings.Contains(string(body), `"status":"Healthy"`) || strings.Contains(string(body), `"amqp"`) {
		t.Errorf("health: %d %s", code, body)
	}
}

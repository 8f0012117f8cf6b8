package common

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// SessionCookie is the cookie-session cookie the course's services read.
const SessionCookie = "session"

// SettingJWTKey is the settings key of the shared JWT signing key (the
// course's JWT_KEY); DefaultJWTKey is used when it is absent.
const (
	SettingJWTKey = "jwt-key"
	DefaultJWTKey = "tflab-ticketsale-jwt-key"
)

// UserPayload is what the JWT carries (the course's UserPayload).
type UserPayload struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Iat   int64  `json:"iat,omitempty"`
}

// Signer signs and verifies the session JWT (HS256).
type Signer struct{ key []byte }

// NewSigner returns a signer for key; an empty key is an error.
func NewSigner(key string) (*Signer, error) {
	if key == "" {
		return nil, errors.New("jwt key must be set")
	}
	return &Signer{key: []byte(key)}, nil
}

var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))

// Sign returns a JWT for u issued at now.
func (s *Signer) Sign(u UserPayload, now time.Time) (string, error) {
	u.Iat = now.Unix()
	body, err := json.Marshal(u)
	if err != nil {
		return "", fmt.Errorf("jwt payload: %w", err)
	}
	head := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(body)
	return head + "." + s.sig(head), nil
}

func (s *Signer) sig(head string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(head))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Verify checks token's HS256 signature and returns its payload.
func (s *Signer) Verify(token string) (UserPayload, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return UserPayload{}, errors.New("jwt: want three parts")
	}
	var h struct {
		Alg string `json:"alg"`
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil || json.Unmarshal(hb, &h) != nil || h.Alg != "HS256" {
		return UserPayload{}, errors.New("jwt: want an HS256 header")
	}
	if !hmac.Equal([]byte(s.sig(parts[0]+"."+parts[1])), []byte(parts[2])) {
		return UserPayload{}, errors.New("jwt: bad signature")
	}
	pb, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return UserPayload{}, fmt.Errorf("jwt payload: %w", err)
	}
	var u UserPayload
	if err := json.Unmarshal(pb, &u); err != nil || u.ID == "" {
		return UserPayload{}, errors.New("jwt: payload without a user id")
	}
	return u, nil
}

// SessionValue encodes a cookie-session value holding jwt (base64 of
// {"jwt":"..."}, as the course's cookie-session writes it).
func SessionValue(jwt string) string {
	b, _ := json.Marshal(map[string]string{"jwt": jwt})
	return base64.StdEncoding.EncodeToString(b)
}

// SessionJWT reads the jwt out of a cookie-session value.
func SessionJWT(value string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(value)
	if err != nil {
		return "", fmt.Errorf("session cookie: %w", err)
	}
	var s struct {
		JWT string `json:"jwt"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return "", fmt.Errorf("session cookie: %w", err)
	}
	return s.JWT, nil
}

// SetSession writes the session cookie holding jwt ("" clears it, as
// req.session = null does).
func SetSession(w http.ResponseWriter, jwt string) {
	c := &http.Cookie{Name: SessionCookie, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}
	if jwt == "" {
		c.MaxAge = -1
	} else {
		c.Value = SessionValue(jwt)
	}
	http.SetCookie(w, c)
}

type userKey struct{}

// CurrentUser is the course's currentUser middleware: a valid session puts
// its payload into the request context; anything else leaves it empty.
func (s *Signer) CurrentUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie(SessionCookie); err == nil {
			if jwt, err := SessionJWT(c.Value); err == nil {
				if u, err := s.Verify(jwt); err == nil {
					r = r.WithContext(context.WithValue(r.Context(), userKey{}, u))
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// UserFrom returns the current user of a request that passed CurrentUser.
func UserFrom(ctx context.Context) (UserPayload, bool) {
	u, ok := ctx.Value(userKey{}).(UserPayload)
	return u, ok
}

// RequireAuth is the course's requireAuth: 401 "Not authorized" without a
// current user.
func RequireAuth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, ok := UserFrom(r.Context()); !ok {
			WriteError(w, ErrNotAuthorized)
			return
		}
		next(w, r)
	}
}

package auth

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"log/slog"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/ticketflow-lab/tflab/system/messaging"
	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/tsapp"
)

var _ service.Main = Main

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are the auth service's schema.
var Migrations = store.EmbeddedMigrations("ticketsale-auth", migrationFiles, "migrations")

// Spec is the auth service's runtime spec (no messaging: auth publishes and
// consumes no events).
var Spec = tsapp.Spec{Service: common.ServiceAuth, Migrations: []store.Migrations{Migrations}}

// Main runs the auth service: /api/users/signup, signin, signout and
// currentuser.
func Main(ctx context.Context, cfg service.Config, log *slog.Logger) error {
	return tsapp.Main(ctx, cfg, log, Spec, func(rt *tsapp.Runtime) error { Wire(rt); return nil })
}

// Wire registers the routes on rt.
func Wire(rt *tsapp.Runtime) {
	h := &handler{rt: rt}
	m := rt.Mux()
	m.HandleFunc("POST /api/users/signup", h.signup)
	m.HandleFunc("POST /api/users/signin", h.signin)
	m.HandleFunc("POST /api/users/signout", h.signout)
	m.HandleFunc("GET /api/users/currentuser", h.currentUser)
}

// User is what the routes answer (never the password).
type User struct {
	ID    string `json:"id"`
	Email string `json:"email"`
}

// Credentials is the body of signup and signin.
type Credentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// CurrentUserBody is the answer of GET /api/users/currentuser.
type CurrentUserBody struct {
	CurrentUser *common.UserPayload `json:"currentUser"`
}

type handler struct{ rt *tsapp.Runtime }

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && strings.Contains(s, "@")
}

func (h *handler) signup(w http.ResponseWriter, r *http.Request) {
	c, ok := common.ReadBody(w, r, func(c Credentials, v *common.Validation) {
		v.Check(validEmail(c.Email), "email", "Email must be valid")
		p := strings.TrimSpace(c.Password)
		v.Check(len(p) >= 4 && len(p) <= 20, "password", "Password must be between 4 and 20 characters")
	})
	if !ok {
		return
	}
	hash, err := HashPassword(c.Password)
	if err != nil {
		common.WriteError(w, err)
		return
	}
	u := User{ID: messaging.NewID(), Email: c.Email}
	err = h.rt.DB().InTx(r.Context(), func(ctx context.Context, tx *store.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM users WHERE email = ?`, c.Email).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return common.BadRequest("Email in use")
		}
		_, err := tx.Exec(ctx, `INSERT INTO users (id, email, password, created_at) VALUES (?, ?, ?, ?)`,
			u.ID, u.Email, hash, h.rt.Clock().Now().Format(time.RFC3339Nano))
		return err
	})
	if err != nil {
		common.WriteError(w, err)
		return
	}
	if err := h.startSession(w, u); err != nil {
		common.WriteError(w, err)
		return
	}
	common.WriteJSON(w, http.StatusCreated, u)
}

func (h *handler) startSession(w http.ResponseWriter, u User) error {
	jwt, err := h.rt.Signer().Sign(common.UserPayload{ID: u.ID, Email: u.Email}, h.rt.Clock().Now())
	if err != nil {
		return err
	}
	common.SetSession(w, jwt)
	return nil
}

func (h *handler) signin(w http.ResponseWriter, r *http.Request) {
	c, ok := common.ReadBody(w, r, func(c Credentials, v *common.Validation) {
		v.Check(validEmail(c.Email), "email", "Email must be valid")
		v.Check(strings.TrimSpace(c.Password) != "", "password", "You must supply a password")
	})
	if !ok {
		return
	}
	var u User
	var stored string
	err := h.rt.DB().QueryRow(r.Context(), `SELECT id, email, password FROM users WHERE email = ?`, c.Email).Scan(&u.ID, &u.Email, &stored)
	if errors.Is(err, sql.ErrNoRows) {
		common.WriteError(w, common.BadRequest("Invalid credentials"))
		return
	}
	if err != nil {
		common.WriteError(w, err)
		return
	}
	if ok, err := ComparePassword(stored, c.Password); err != nil || !ok {
		common.WriteError(w, common.BadRequest("Invalid credentials"))
		return
	}
	if err := h.startSession(w, u); err != nil {
		common.WriteError(w, err)
		return
	}
	common.WriteJSON(w, http.StatusOK, u)
}

func (h *handler) signout(w http.ResponseWriter, _ *http.Request) {
	common.SetSession(w, "")
	common.WriteJSON(w, http.StatusOK, struct{}{})
}

func (h *handler) currentUser(w http.ResponseWriter, r *http.Request) {
	var body CurrentUserBody
	if u, ok := common.UserFrom(r.Context()); ok {
		body.CurrentUser = &u
	}
	common.WriteJSON(w, http.StatusOK, body)
}

package workload

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Shares are the probabilities (0..1) of what the desk does with a ticket and
// who the customer is. Qualify, Resolve and VIP apply to every ticket; Assign,
// Block and Incident to qualified tickets only.
type Shares struct {
	Qualify  float64 `json:"qualify"`
	Assign   float64 `json:"assign"`
	Block    float64 `json:"block"` // block, then unblock
	Resolve  float64 `json:"resolve"`
	VIP      float64 `json:"vip"`      // customer e-mail on devmentors.io (the seeded VIP SLA)
	Incident float64 `json:"incident"` // Incident rather than Question
}

// DefaultShares apply where a scenario leaves a share unset: every ticket is
// qualified (so SLA has work), most are assigned and resolved, some blocked.
var DefaultShares = Shares{Qualify: 1, Assign: 0.7, Block: 0.2, Resolve: 0.8, VIP: 0.1, Incident: 0.3}

// VIPDomain is the e-mail domain of the original's seeded VIP SLA
// (DevMentors: Critical 1 min … Low 30 min).
const VIPDomain = "devmentors.io"

// Endpoints are the base URLs of the services the generator talks to
// (e.g. "http://127.0.0.1:21101"). Communication is optional: without it the
// summary cannot count notified customers.
type Endpoints struct {
	Inquiries     string `json:"inquiries"`
	Tickets       string `json:"tickets"`
	Communication string `json:"communication,omitempty"`
}

// Config is one workload. Zero durations and limits take the defaults
// documented on each field; shares are taken as given (0 means never).
type Config struct {
	Inquiries int     // how many inquiries to submit (1..1,000,000)
	Rate      float64 // submissions per second (0 < Rate ≤ 10,000)
	// Languages weighs the languages of the texts, e.g. {en: 3, pl: 1}; keys
	// must be in Languages(). Empty means English only.
	Languages map[string]float64
	Shares    Shares
	// Settle is how long Run waits, after the last lifecycle ended, for the
	// asynchronous effects it can see (inquiry resolved, customer notified,
	// translation attached); it stops early once all have converged. 0 = no
	// waiting, one final sweep.
	Settle time.Duration
	// Quiet, when set, tells whether nothing is in flight in the system
	// (no queued or unacked message, no unrelayed outbox row). Settle then
	// also ends once the system stayed quiet for three sweeps in a row:
	// effects that have not converged by then never will (a control that
	// lost messages), and waiting out Settle would only slow the run.
	Quiet     func(context.Context) error
	Endpoints Endpoints

	// TicketTimeout bounds submit → ticket ready for the desk (created and,
	// for a non-English inquiry, translated). Default 30 s.
	TicketTimeout time.Duration
	// Think is the longest pause between two desk commands on a ticket
	// (uniform in [0, Think), seeded). Default 0: act at once.
	Think time.Duration
	// MaxInFlight bounds concurrent lifecycles; a full pool delays the
	// next submission (the summary's achieved rate shows it). Default 256.
	MaxInFlight int
	// Attempts is how often a desk command is tried on a transport error or
	// a 5xx (never on 4xx). Submissions are tried once: a retry could create
	// a second inquiry. Default 3.
	Attempts int
	// RequestTimeout bounds one HTTP request. Default 10 s.
	RequestTimeout time.Duration
	// PollInterval is the longest pause between two reads while waiting for
	// a ticket (the first reads come faster). Default 200 ms.
	PollInterval time.Duration
	// Timeout bounds the whole run, settle included. Default: the
	// submission time (Inquiries/Rate) + TicketTimeout + Settle + 60 s.
	Timeout time.Duration

	// Hold, when set, is called before each submission with its index; it
	// may block (a gate keyed to an event of the run). The submissions after
	// it keep their pacing, shifted by the time it held. An error stops
	// submitting.
	Hold func(ctx context.Context, next int) error
	// HoldDesk, when set, is called by each lifecycle whose ticket was
	// qualified and has commands left, before the first of them (and its
	// pause); it may block. An error stops that lifecycle.
	HoldDesk func(ctx context.Context) error

	// Client makes the HTTP requests (nil: a client with RequestTimeout).
	Client *http.Client
	// Progress, when set, is called every ProgressEvery (default 1 s) and
	// once at the end, from one goroutine.
	Progress      func(Progress)
	ProgressEvery time.Duration
	Log           *slog.Logger // nil = discard
}

// Languages lists the language codes the generator can write, sorted.
func Languages() []string { return slices.Sorted(maps.Keys(corpus)) }

func (c *Config) setDefaults() {
	if len(c.Languages) == 0 {
		c.Languages = map[string]float64{"en": 1}
	}
	if c.TicketTimeout <= 0 {
		c.TicketTimeout = 30 * time.Second
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = 256
	}
	if c.Attempts <= 0 {
		c.Attempts = 3
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 10 * time.Second
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 200 * time.Millisecond
	}
	if c.ProgressEvery <= 0 {
		c.ProgressEvery = time.Second
	}
	if c.Timeout <= 0 && c.Rate > 0 {
		c.Timeout = time.Duration(float64(c.Inquiries)/c.Rate*float64(time.Second)) + c.TicketTimeout + c.Settle + time.Minute
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Client == nil {
		c.Client = &http.Client{Timeout: c.RequestTimeout, Transport: &http.Transport{
			MaxIdleConns: 128, MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second,
		}}
	}
}

// Validate reports every problem with the config (after defaults).
func (c Config) Validate() error {
	var errs []error
	if c.Inquiries < 1 || c.Inquiries > 1_000_000 {
		errs = append(errs, fmt.Errorf("inquiries: want 1 to 1000000, got %d", c.Inquiries))
	}
	if !(c.Rate > 0 && c.Rate <= 10_000) {
		errs = append(errs, fmt.Errorf("rate: want (0, 10000] per second, got %g", c.Rate))
	}
	for _, lang := range slices.Sorted(maps.Keys(c.Languages)) {
		if _, ok := corpus[lang]; !ok {
			errs = append(errs, fmt.Errorf("language %q: the generator writes %s", lang, strings.Join(Languages(), ", ")))
		}
		if w := c.Languages[lang]; !(w > 0) {
			errs = append(errs, fmt.Errorf("language %s: weight must be positive, got %g", lang, w))
		}
	}
	s := c.Shares
	for _, sh := range []struct {
		name string
		v    float64
	}{{"qualify", s.Qualify}, {"assign", s.Assign}, {"block", s.Block}, {"resolve", s.Resolve}, {"vip", s.VIP}, {"incident", s.Incident}} {
		if !(sh.v >= 0 && sh.v <= 1) {
			errs = append(errs, fmt.Errorf("%s share: want 0 to 1, got %g", sh.name, sh.v))
		}
	}
	if c.Settle < 0 || c.Think < 0 {
		errs = append(errs, errors.New("settle and think must not be negative"))
	}
	for _, ep := range []struct{ name, url string }{{"inquiries", c.Endpoints.Inquiries}, {"tickets", c.Endpoints.Tickets}, {"communication", c.Endpoints.Communication}} {
		if ep.url == "" && ep.name == "communication" {
			continue
		}
		if err := loopbackURL(ep.url); err != nil {
			errs = append(errs, fmt.Errorf("%s endpoint: %w", ep.name, err))
		}
	}
	return errors.Join(errs...)
}

// loopbackURL accepts http URLs on 127.0.0.1, ::1 or localhost only: the
// generator never talks to anything but the local lab.
func loopbackURL(raw string) error {
	if raw == "" {
		return errors.New("missing URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Scheme != "http" {
		return fmt.Errorf("%q: want an http:// URL", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q: only loopback addresses (127.0.0.1) are allowed", raw)
	}
	return nil
}

package sla

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

// Settings keys of the SLA service (service.Config.Settings, `--set k=v`).
const (
	// SettingScale multiplies every agreed duration, seeded VIP and
	// default alike (e.g. 0.1 turns the VIP one-minute SLA into 6 s).
	// Default 1.
	SettingScale = "sla-scale"
	// SettingBreachDelay is how long after a missed deadline the first
	// SLABreached is due (default 2m).
	SettingBreachDelay = "breach-delay"
	// SettingBreachInterval is the time between later SLABreached alerts
	// (default 2m).
	SettingBreachInterval = "breach-interval"
	// SettingCommunicationURL is the base URL of Communication's HTTP API,
	// where reminders are posted. Default: the communication instance in the
	// lab's lab.json (in the run directory), else
	// http://127.0.0.1:<contracts.Communication.HTTPPort>.
	SettingCommunicationURL = "communication-url"
	// SettingMaxWait bounds one sleep of the scheduler (default 1s): how
	// soon a changed clock offset is noticed.
	SettingMaxWait = "sla-max-wait"
	// SettingClaimTTL is how long an instance's claim on a scheduler action
	// keeps the other instances off it (default 30s, DefaultClaimTTL): the
	// delay before a standby repeats an action whose instance died while
	// performing it.
	SettingClaimTTL = "sla-claim-ttl"
	// SettingReminders is "scheduled" (default: 25 %, 50 %, final) or
	// "at-once" (the course: all three at the assignment; Config.RemindersAtOnce).
	SettingReminders = "sla-reminders"
	// SettingBlocking is "pauses" (default: a block pauses the SLA clock) or
	// "ignored" (the course; Config.IgnoreBlocking).
	SettingBlocking = "sla-blocking"
	// SettingDeadlineMet is "fixed" (default: true when resolved in time) or
	// "original" (the course: true when missed; Config.DeadlineMetInverted).
	SettingDeadlineMet = "sla-deadline-met"
)

// quirkSettings maps each quirk setting to its fixed and course values.
var quirkSettings = []struct {
	key, fixed, course string
	set                func(*Config)
}{
	{SettingReminders, "scheduled", "at-once", func(c *Config) { c.RemindersAtOnce = true }},
	{SettingBlocking, "pauses", "ignored", func(c *Config) { c.IgnoreBlocking = true }},
	{SettingDeadlineMet, "fixed", "original", func(c *Config) { c.DeadlineMetInverted = true }},
}

// Settings are the parsed SLA knobs.
type Settings struct {
	Scale            float64
	Timing           Config
	CommunicationURL string
	MaxWait          time.Duration
	ClaimTTL         time.Duration
}

// ParseSettings reads the SLA knobs from a service's settings; runDir is
// where lab.json is looked for when no communication-url is set.
func ParseSettings(m map[string]string, runDir string) (Settings, error) {
	s := Settings{Scale: 1, Timing: DefaultConfig(), MaxWait: time.Second, ClaimTTL: DefaultClaimTTL}
	var errs []error
	if v, ok := m[SettingScale]; ok {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f > 0) || math.IsInf(f, 0) {
			errs = append(errs, fmt.Errorf("setting %s=%q: want a positive number such as 0.1", SettingScale, v))
		}
		s.Scale = f
	}
	dur := func(key string, into *time.Duration, positive bool) {
		v, ok := m[key]
		if !ok {
			return
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || positive && d == 0 {
			errs = append(errs, fmt.Errorf("setting %s=%q: want a duration such as 2m or 10s", key, v))
			return
		}
		*into = d
	}
	dur(SettingBreachDelay, &s.Timing.BreachDelay, false)
	dur(SettingBreachInterval, &s.Timing.BreachInterval, true)
	dur(SettingMaxWait, &s.MaxWait, true)
	dur(SettingClaimTTL, &s.ClaimTTL, true)
	for _, q := range quirkSettings {
		switch v := m[q.key]; v {
		case "", q.fixed:
		case q.course:
			q.set(&s.Timing)
		default:
			errs = append(errs, fmt.Errorf("setting %s=%q: want %s or %s", q.key, v, q.fixed, q.course))
		}
	}
	s.CommunicationURL = strings.TrimRight(m[SettingCommunicationURL], "/")
	if s.CommunicationURL == "" {
		s.CommunicationURL = peerURL(runDir, contracts.Communication)
	}
	return s, errors.Join(append(errs, s.Timing.Validate())...)
}

// peerURL finds a service's HTTP base URL in the lab's lab.json (written
// before any service starts), else its original default port.
func peerURL(runDir string, svc contracts.Service) string {
	def := "http://127.0.0.1:" + strconv.Itoa(svc.HTTPPort)
	if runDir == "" {
		return def
	}
	b, err := os.ReadFile(filepath.Join(runDir, "lab.json"))
	if err != nil {
		return def
	}
	var info struct {
		Services map[string]struct {
			Service  string `json:"service"`
			Instance int    `json:"instance"`
			HTTP     string `json:"http"`
		} `json:"services"`
	}
	if json.Unmarshal(b, &info) != nil {
		return def
	}
	best, url := 0, ""
	for _, s := range info.Services {
		if s.Service == svc.Name && s.HTTP != "" && (best == 0 || s.Instance < best) {
			best, url = s.Instance, s.HTTP
		}
	}
	if url == "" {
		return def
	}
	return strings.TrimRight(url, "/")
}

// ScaledCatalog is the seeded catalog (SeedAgreements, DefaultAgreement as
// the fallback) with every duration multiplied by f, rounded to the
// millisecond and at least one.
func ScaledCatalog(f float64) Catalog {
	scale := func(a Agreement) Agreement {
		d := make(Deadlines, len(a.Deadlines))
		for st, per := range a.Deadlines {
			p := maps.Clone(per)
			for sev, v := range p {
				p[sev] = max(time.Duration(float64(v)*f).Round(time.Millisecond), time.Millisecond)
			}
			d[st] = p
		}
		a.Deadlines = d
		return a
	}
	var agreements []Agreement
	for _, a := range SeedAgreements() {
		agreements = append(agreements, scale(a))
	}
	return Catalog{agreements: agreements, fallback: scale(DefaultAgreement())}
}

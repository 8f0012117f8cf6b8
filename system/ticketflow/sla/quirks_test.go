package sla

import (
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

// Each course quirk (Config.RemindersAtOnce, IgnoreBlocking,
// DeadlineMetInverted) is tested both ways on the same ticket history.

// VIP low: 30 min window, agent assigned at 2 min.
func TestRemindersAtOnceToggle(t *testing.T) {
	for _, atOnce := range []bool{false, true} {
		cfg := testConfig()
		cfg.RemindersAtOnce = atOnce
		s := newSim(t, cfg)
		s.qualify("anna@devmentors.io", contracts.TypeQuestion, contracts.SeverityLow)
		s.runUntil(2 * time.Minute)
		s.assign("agent-2")
		s.runUntil(29 * time.Minute)
		if !atOnce {
			s.want(
				sent{"reminder:tkt:1", 7*time.Minute + 30*time.Second},
				sent{"reminder:tkt:2", 15 * time.Minute},
				sent{"reminder:tkt:3", 27 * time.Minute},
			)
			if r := s.rec(); !r.RemindersAt.IsZero() {
				t.Fatalf("scheduled: RemindersAt = %v", r.RemindersAt)
			}
			continue
		}
		s.want(
			sent{"reminder:tkt:1", 2 * time.Minute},
			sent{"reminder:tkt:2", 2 * time.Minute},
			sent{"reminder:tkt:3", 2 * time.Minute},
		)
		// The record reports the quirk's times, whatever the timing config:
		// what a checker reading it with DefaultConfig compares to the rules.
		r := s.rec()
		for n := range Reminders {
			if got := r.ReminderAt(DefaultConfig(), n); !got.Equal(t0.Add(2 * time.Minute)) {
				t.Fatalf("at once: reminder %d at %v", n+1, got.Sub(t0))
			}
		}
	}
}

// VIP low: 30 min window, blocked from 5 to 40 min.
func TestIgnoreBlockingToggle(t *testing.T) {
	for _, ignore := range []bool{false, true} {
		cfg := testConfig()
		cfg.IgnoreBlocking = ignore
		s := newSim(t, cfg)
		s.qualify("anna@devmentors.io", contracts.TypeQuestion, contracts.SeverityLow)
		s.runUntil(5 * time.Minute)
		s.block()
		s.runUntil(40 * time.Minute)
		s.unblock()
		r := s.rec()
		if !ignore {
			if r.Paused != 35*time.Minute || len(s.out) != 2 || len(s.sent) != 0 {
				t.Fatalf("pauses: paused %v, published %v, sent %v", r.Paused, s.out, s.sent)
			}
			continue
		}
		if r.Paused != 0 || r.Blocked() || len(s.out) != 1 {
			t.Fatalf("ignored: paused %v, blocked %v, published %v", r.Paused, r.Blocked(), s.out)
		}
		// The clock kept running: the breaches came while the ticket was blocked.
		if len(s.sent) == 0 || s.sent[0] != (sent{"breach:tkt:1", 30*time.Minute + 10*time.Second}) {
			t.Fatalf("ignored: sent %v", s.sent)
		}
	}
}

// VIP medium: 15 min window, resolved at 5 min (in time).
func TestDeadlineMetInvertedToggle(t *testing.T) {
	for _, inverted := range []bool{false, true} {
		cfg := testConfig()
		cfg.DeadlineMetInverted = inverted
		s := newSim(t, cfg)
		s.qualify("anna@devmentors.io", contracts.TypeQuestion, contracts.SeverityMedium)
		s.runUntil(5 * time.Minute)
		s.resolve()
		r := s.rec()
		if r.DeadlineMet == nil || *r.DeadlineMet == inverted {
			t.Fatalf("inverted=%v: resolved in time, DeadlineMet = %v", inverted, r.DeadlineMet)
		}
	}
}

func TestQuirkSettings(t *testing.T) {
	s, err := ParseSettings(map[string]string{SettingReminders: "at-once", SettingBlocking: "ignored", SettingDeadlineMet: "original"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if c := s.Timing; !c.RemindersAtOnce || !c.IgnoreBlocking || !c.DeadlineMetInverted {
		t.Fatalf("course values: %+v", c)
	}
	s, err = ParseSettings(map[string]string{SettingReminders: "scheduled", SettingBlocking: "pauses", SettingDeadlineMet: "fixed"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if c := s.Timing; c.RemindersAtOnce || c.IgnoreBlocking || c.DeadlineMetInverted {
		t.Fatalf("fixed values: %+v", c)
	}
	if _, err := ParseSettings(map[string]string{SettingReminders: "sometimes"}, ""); err == nil {
		t.Fatal("a bad value was accepted")
	}
}

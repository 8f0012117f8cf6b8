package sla

import (
	"errors"
	"fmt"
	"time"

	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

// Config holds the timing rules. Reminder times are fractions of the SLA
// window, so they scale with short SLAs; breach timing is absolute.
type Config struct {
	// FirstAt and SecondAt are the first and second reminders as fractions of
	// the window (default 0.25 and 0.5).
	FirstAt, SecondAt float64
	// FinalLead: the final reminder is this long before the deadline
	// (default 15 min) ...
	FinalLead time.Duration
	// ... unless the window is shorter than ShortWindow (default 1 h); then
	// it is at ShortFinalAt of the window (default 0.9).
	ShortWindow  time.Duration
	ShortFinalAt float64
	// BreachDelay after a missed deadline the first SLABreached is due
	// (default 2 min); then one every BreachInterval (default 2 min).
	BreachDelay    time.Duration
	BreachInterval time.Duration

	// The course's quirks (spec §12.6), each off by default:
	//
	// RemindersAtOnce makes all three reminders due at the assignment
	// (Record.RemindersAt), as the original sent them within seconds (#1).
	RemindersAtOnce bool
	// IgnoreBlocking makes TicketBlocked and TicketUnblocked only advance
	// the version: the SLA clock keeps running while a ticket is blocked (#6).
	IgnoreBlocking bool
	// DeadlineMetInverted stores the original's DeadlineMet on resolution:
	// true when the deadline was missed (#3).
	DeadlineMetInverted bool
}

// DefaultConfig returns the defaults described on Config.
func DefaultConfig() Config {
	return Config{FirstAt: 0.25, SecondAt: 0.5, FinalLead: 15 * time.Minute, ShortWindow: time.Hour, ShortFinalAt: 0.9,
		BreachDelay: 2 * time.Minute, BreachInterval: 2 * time.Minute}
}

// Validate reports inconsistent timing.
func (c Config) Validate() error {
	var errs []error
	if !(c.FirstAt > 0 && c.FirstAt < c.SecondAt && c.SecondAt < 1) {
		errs = append(errs, fmt.Errorf("want 0 < FirstAt (%v) < SecondAt (%v) < 1", c.FirstAt, c.SecondAt))
	}
	if !(c.ShortFinalAt > c.SecondAt && c.ShortFinalAt < 1) {
		errs = append(errs, fmt.Errorf("want SecondAt < ShortFinalAt (%v) < 1", c.ShortFinalAt))
	}
	if c.FinalLead <= 0 || c.ShortWindow <= 0 {
		errs = append(errs, errors.New("FinalLead and ShortWindow must be positive"))
	}
	if float64(c.FinalLead) >= (1-c.SecondAt)*float64(c.ShortWindow) {
		errs = append(errs, fmt.Errorf("FinalLead %v must leave the final reminder after the second for windows >= %v", c.FinalLead, c.ShortWindow))
	}
	if c.BreachDelay < 0 || c.BreachInterval <= 0 {
		errs = append(errs, errors.New("BreachDelay must be >= 0 and BreachInterval > 0"))
	}
	return errors.Join(errs...)
}

// Reminders per ticket: first, second, final.
const Reminders = 3

// Record is SLA's state for one ticket (DeadlineReminders in the original).
//
// Times are kept in the "active" frame: instants with the blocked time
// removed. The effective instant of an active time a is a + Paused, so an
// unblock shifts every pending reminder, the deadline and the breach timer
// by the blocked duration without rewriting them.
type Record struct {
	TicketID         string
	ServiceType      contracts.ServiceType
	Severity         contracts.Severity
	Tier             Tier
	LastKnownVersion int    // ticket version of the last applied event
	AgentUserID      string // who gets reminders; "" = nobody yet
	// HasDeadline is false when no agreement covers the service type.
	HasDeadline bool
	Anchor      time.Time // ticket creation: start of the window
	Window      time.Duration
	Paused      time.Duration // total blocked time so far
	BlockedAt   time.Time     // effective instant the current block began; zero = not blocked
	// Revision of the last DeadlinesCalculated published (1 on calculation,
	// +1 per shift).
	Revision int
	// ReminderSent/ReminderSkipped per reminder (index 0 = first). A
	// reminder is skipped when a later one was sent first (an agent was
	// assigned late) — reminders are never sent out of order.
	ReminderSent    [Reminders]time.Time
	ReminderSkipped [Reminders]bool
	// Breaches counts SLABreached alerts; LastBreachActive is the active
	// time of the last one.
	Breaches         int
	LastBreachActive time.Time
	Completed        bool
	CompletedAt      time.Time
	// DeadlineMet is set on resolution: true when resolved in time (the
	// original stored the opposite, §12.6 #3; Config.DeadlineMetInverted).
	DeadlineMet *bool
	// RemindersAt, when set, is the active time every reminder is due (the
	// assignment, Config.RemindersAtOnce); zero = the 25 %/50 %/final schedule.
	RemindersAt time.Time
}

// Deadline is the effective deadline (shifted by the time blocked so far).
func (r *Record) Deadline() time.Time { return r.Anchor.Add(r.Window + r.Paused) }

// active converts an effective instant to the active frame.
func (r *Record) active(now time.Time) time.Time { return now.Add(-r.Paused) }

// Blocked reports whether the ticket is blocked.
func (r *Record) Blocked() bool { return !r.BlockedAt.IsZero() }

// reminderActive is the active time of reminder n (0-based).
func (r *Record) reminderActive(cfg Config, n int) time.Time {
	if !r.RemindersAt.IsZero() {
		return r.RemindersAt
	}
	switch n {
	case 0:
		return r.Anchor.Add(scale(r.Window, cfg.FirstAt))
	case 1:
		return r.Anchor.Add(scale(r.Window, cfg.SecondAt))
	}
	if r.Window < cfg.ShortWindow {
		return r.Anchor.Add(scale(r.Window, cfg.ShortFinalAt))
	}
	return r.Anchor.Add(r.Window - cfg.FinalLead)
}

// ReminderAt is the effective instant reminder n (0-based) is due.
func (r *Record) ReminderAt(cfg Config, n int) time.Time {
	return r.reminderActive(cfg, n).Add(r.Paused)
}

func scale(d time.Duration, f float64) time.Duration { return time.Duration(float64(d) * f) }

// nextBreachActive is the active time the next SLABreached is due.
func (r *Record) nextBreachActive(cfg Config) time.Time {
	if r.Breaches == 0 {
		return r.Anchor.Add(r.Window + cfg.BreachDelay)
	}
	return r.LastBreachActive.Add(cfg.BreachInterval)
}

// DeadlinesCalculated is the message announcing the current deadline.
func (r *Record) DeadlinesCalculated() contracts.DeadlinesCalculated {
	return contracts.DeadlinesCalculated{ServiceType: r.ServiceType, ServiceSourceID: r.TicketID, DeadlineUTC: r.Deadline(), Revision: r.Revision}
}

package sla

import (
	"fmt"
	"time"

	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

// ActionKind is what the scheduler asks for.
type ActionKind string

// Action kinds.
const (
	// SendReminder: post a reminder message to the assigned agent.
	SendReminder ActionKind = "reminder"
	// RaiseBreach: publish SLABreached, and message the agent if one is assigned.
	RaiseBreach ActionKind = "breach"
)

// Action is one due effect. Key is its idempotency key — stable across
// retries and restarts — so the effect-exactly-once checker can count them:
//
//	reminder:<ticket>:<n>   n = 1 first, 2 second, 3 final
//	breach:<ticket>:<n>     n = 1, 2, ... (the n-th SLABreached)
type Action struct {
	Kind        ActionKind
	TicketID    string
	N           int // 1-based
	Key         string
	Due         time.Time // effective instant it became due
	AgentUserID string
	ServiceType contracts.ServiceType
}

// ReminderKey and BreachKey build the idempotency keys.
func ReminderKey(ticketID string, n int) string { return fmt.Sprintf("reminder:%s:%d", ticketID, n) }

// BreachKey is the key of the n-th breach alert of a ticket.
func BreachKey(ticketID string, n int) string { return fmt.Sprintf("breach:%s:%d", ticketID, n) }

// BreachMessageKey is the key of the agent message that goes with breach n.
func BreachMessageKey(ticketID string, n int) string {
	return fmt.Sprintf("breach-message:%s:%d", ticketID, n)
}

// Due returns the actions due at now for the record, oldest first:
//
//   - nothing when the ticket is resolved, has no deadline, or is blocked
//     (a block pauses reminders and breach alerts);
//   - the latest reminder whose time has come, if an agent is assigned and
//     the deadline has not passed (earlier unsent ones are skipped when it
//     is marked done, so an agent assigned late gets one reminder, not three);
//     with Record.RemindersAt set (the course quirk) every unsent reminder,
//     first to final;
//   - the next breach alert, once the deadline plus BreachDelay has passed,
//     then every BreachInterval.
//
// Due is pure; call MarkDone after performing an action.
func Due(cfg Config, r *Record, now time.Time) []Action {
	if r.Completed || !r.HasDeadline || r.Blocked() {
		return nil
	}
	act := r.active(now)
	deadline := r.Anchor.Add(r.Window)
	var out []Action
	if r.AgentUserID != "" && act.Before(deadline) && !r.RemindersAt.IsZero() {
		for n := range Reminders {
			if !act.Before(r.RemindersAt) && r.ReminderSent[n].IsZero() && !r.ReminderSkipped[n] {
				out = append(out, Action{Kind: SendReminder, TicketID: r.TicketID, N: n + 1, Key: ReminderKey(r.TicketID, n+1),
					Due: r.RemindersAt.Add(r.Paused), AgentUserID: r.AgentUserID, ServiceType: r.ServiceType})
			}
		}
	} else if r.AgentUserID != "" && act.Before(deadline) {
		for n := Reminders - 1; n >= 0; n-- {
			at := r.reminderActive(cfg, n)
			if act.Before(at) {
				continue
			}
			if r.ReminderSent[n].IsZero() && !r.ReminderSkipped[n] {
				out = append(out, Action{Kind: SendReminder, TicketID: r.TicketID, N: n + 1, Key: ReminderKey(r.TicketID, n+1),
					Due: at.Add(r.Paused), AgentUserID: r.AgentUserID, ServiceType: r.ServiceType})
			}
			break // only the latest reminder whose time has come
		}
	}
	if at := r.nextBreachActive(cfg); !act.Before(at) {
		n := r.Breaches + 1
		out = append(out, Action{Kind: RaiseBreach, TicketID: r.TicketID, N: n, Key: BreachKey(r.TicketID, n),
			Due: at.Add(r.Paused), AgentUserID: r.AgentUserID, ServiceType: r.ServiceType})
	}
	return out
}

// MarkDone records that a was performed at now. Marking an action twice is
// a no-op, so a retried effect is never counted twice.
func MarkDone(r *Record, a Action, now time.Time) {
	switch a.Kind {
	case SendReminder:
		i := a.N - 1
		if i < 0 || i >= Reminders || !r.ReminderSent[i].IsZero() {
			return
		}
		r.ReminderSent[i] = now.UTC()
		for j := range i {
			if r.ReminderSent[j].IsZero() {
				r.ReminderSkipped[j] = true
			}
		}
	case RaiseBreach:
		if a.N != r.Breaches+1 {
			return
		}
		r.Breaches = a.N
		r.LastBreachActive = r.active(now)
		if f := false; r.DeadlineMet == nil {
			r.DeadlineMet = &f
		}
	}
}

// NextDue is the effective instant the record next needs attention (the
// earliest pending reminder or breach); ok is false when nothing is pending
// (resolved, no deadline, blocked). Reminders count only while an agent is
// assigned and the deadline has not passed at now, so callers re-check after
// an assignment. The instant may be before now: the action is overdue and
// Due returns it.
func NextDue(cfg Config, r *Record, now time.Time) (time.Time, bool) {
	if r.Completed || !r.HasDeadline || r.Blocked() {
		return time.Time{}, false
	}
	next := r.nextBreachActive(cfg)
	deadline := r.Anchor.Add(r.Window)
	for n := range Reminders {
		if r.AgentUserID == "" || !r.active(now).Before(deadline) {
			break
		}
		at := r.reminderActive(cfg, n)
		if r.ReminderSent[n].IsZero() && !r.ReminderSkipped[n] && at.Before(deadline) && at.Before(next) {
			next = at
			break
		}
	}
	return next.Add(r.Paused), true
}

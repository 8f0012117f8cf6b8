package workload

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// sweep is the final state of the run's inquiries as the services report it
// through their list APIs.
type sweep struct {
	tickets   map[string]ticketItem
	inquiries map[string]inquiryItem
	notices   map[string][]message // ticket id → closure messages
}

// settle sweeps until every observable effect converged or cfg.Settle ran
// out; it returns the last sweep and its errors.
func (r *runner) settle(ctx context.Context) (sweep, []string) {
	deadline := time.Now().Add(r.cfg.Settle)
	calm := 0
	for {
		sw, errs := r.sweep(ctx)
		if len(errs) == 0 && r.converged(sw) || !time.Now().Add(500*time.Millisecond).Before(deadline) {
			return sw, errs
		}
		if r.cfg.Quiet != nil {
			if r.cfg.Quiet(ctx) == nil {
				calm++
			} else {
				calm = 0
			}
			if calm >= 3 {
				return sw, errs
			}
		}
		if sleep(ctx, 500*time.Millisecond) != nil {
			return sw, append(errs, "settle interrupted")
		}
	}
}

// converged: every accepted inquiry has its ticket, translated when not
// English, with its SLA deadline once qualified; every resolved ticket's
// inquiry is Resolved and (when Communication is known) its customer was
// notified.
func (r *runner) converged(sw sweep) bool {
	for i := range r.outcomes {
		o := &r.outcomes[i]
		if !o.Accepted || o.InquiryID == "" {
			continue
		}
		t, ok := sw.tickets[o.InquiryID]
		if !ok || (o.Plan.Language != "en" && !translated(t)) || (o.Qualified && t.Deadline == nil) {
			return false
		}
		if !o.Resolved {
			continue
		}
		if q, ok := sw.inquiries[o.InquiryID]; !ok || q.Status != inquiryResolved {
			return false
		}
		if r.cfg.Endpoints.Communication != "" && len(sw.notices[o.InquiryID]) == 0 {
			return false
		}
	}
	return true
}

func translated(t ticketItem) bool {
	return t.DescriptionTranslated != nil && strings.TrimSpace(*t.DescriptionTranslated) != ""
}

// sweep pages through the newest tickets, inquiries and customer messages
// until it has found all of the run's (lists are newest first, so they come
// first), bounded to a few times the run's size.
func (r *runner) sweep(ctx context.Context) (sweep, []string) {
	mine := map[string]bool{}
	for _, o := range r.outcomes {
		if o.InquiryID != "" {
			mine[o.InquiryID] = true
		}
	}
	sw := sweep{tickets: map[string]ticketItem{}, inquiries: map[string]inquiryItem{}, notices: map[string][]message{}}
	var errs []string
	n := len(r.plan)
	const ticketLimit, inquiryLimit, messageLimit = 100, 25, 100
	err := pages(ctx, 4*n/ticketLimit+10, func(ctx context.Context, page int) (int, int, error) {
		l, err := r.c.ticketPage(ctx, page, ticketLimit)
		for _, t := range l.Data {
			if mine[t.ID] {
				sw.tickets[t.ID] = t
			}
		}
		return len(l.Data), l.TotalCount, err
	}, func() bool { return len(sw.tickets) < len(mine) })
	if err != nil {
		errs = append(errs, fmt.Sprintf("list tickets: %v", err))
	}
	err = pages(ctx, 4*n/inquiryLimit+10, func(ctx context.Context, page int) (int, int, error) {
		l, err := r.c.inquiryPage(ctx, page, inquiryLimit)
		for _, q := range l.Data {
			if mine[q.ID] {
				sw.inquiries[q.ID] = q
			}
		}
		return len(l.Data), l.TotalCount, err
	}, func() bool { return len(sw.inquiries) < len(mine) })
	if err != nil {
		errs = append(errs, fmt.Sprintf("list inquiries: %v", err))
	}
	if r.cfg.Endpoints.Communication == "" {
		return sw, errs
	}
	// Messages: read every page back to shortly before the run started, so
	// that duplicates are counted too.
	oldest := time.Now()
	err = pages(ctx, 8*n/messageLimit+10, func(ctx context.Context, page int) (int, int, error) {
		l, err := r.c.messagePage(ctx, page, messageLimit)
		for _, m := range l.Data {
			if m.Timestamp.Before(oldest) {
				oldest = m.Timestamp
			}
			if id, ok := closureTicket(m); ok && mine[id] {
				sw.notices[id] = append(sw.notices[id], m)
			}
		}
		return len(l.Data), l.Total, err
	}, func() bool { return !oldest.Before(r.start.Add(-time.Minute)) })
	if err != nil {
		errs = append(errs, fmt.Sprintf("list customer messages: %v", err))
	}
	return sw, errs
}

// closureTicket recognises a closure message by its idempotency key
// ("closure:<ticket>"), or, without a key, by the original's title and the
// ticket id in its content ("Twoje zgłoszenie <id> zostało zamknięte…").
func closureTicket(m message) (string, bool) {
	if id, ok := strings.CutPrefix(m.IdempotencyKey, closurePrefix); ok && id != "" {
		return id, true
	}
	if m.Title != closureTitle {
		return "", false
	}
	f := strings.Fields(m.Content)
	if len(f) >= 3 {
		return f[2], true
	}
	return "", false
}

// apply copies the sweep into the outcomes.
func (sw sweep) apply(os []Outcome) {
	for i := range os {
		o := &os[i]
		if o.InquiryID == "" {
			continue
		}
		if t, ok := sw.tickets[o.InquiryID]; ok {
			o.TicketStatus = t.Status
			o.Translated = translated(t)
			o.Deadline = t.Deadline != nil && !t.Deadline.IsZero()
		}
		if q, ok := sw.inquiries[o.InquiryID]; ok {
			o.InquiryStatus = q.Status
		}
		ms := sw.notices[o.InquiryID]
		o.Notices = len(ms)
		for _, m := range ms {
			if o.NotifiedAt.IsZero() || m.Timestamp.Before(o.NotifiedAt) {
				o.NotifiedAt = m.Timestamp
			}
		}
	}
}

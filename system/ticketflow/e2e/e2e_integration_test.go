//go:build integration

package e2e_test

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/system/ticketflow/communication"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/workload"
	"github.com/ticketflow-lab/tflab/system/ticketflow/tickets"
)

// TestWholeSystemLifecycle drives 50 inquiries in five languages through the
// whole system started by `tflab up` and checks every service's database.
func TestWholeSystemLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("-short runs TestSmoke instead")
	}
	runLifecycle(t, 50, 10)
}

// TestSmoke is the same with five inquiries (go test -short).
func TestSmoke(t *testing.T) {
	if !testing.Short() {
		t.Skip("TestWholeSystemLifecycle covers it; run with -short for the smoke")
	}
	runLifecycle(t, 5, 5)
}

func runLifecycle(t *testing.T, n int, rate float64) {
	l := startLab(t)
	cfg := workload.Config{
		Inquiries: n, Rate: rate,
		Languages: map[string]float64{"en": 2, "pl": 1, "de": 1, "es": 1, "fr": 1},
		Shares:    workload.Shares{Qualify: 0.9, Assign: 0.6, Block: 0.3, Resolve: 0.8, VIP: 0.2, Incident: 0.4},
		Settle:    30 * time.Second, Endpoints: l.endpoints(),
		TicketTimeout: 30 * time.Second,
		Log:           labtest.Logger(t),
	}
	begin := time.Now()
	res, err := workload.Run(t.Context(), cfg, rand.New(rand.NewPCG(42, uint64(n))))
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	_ = res.Summary.WriteTable(&table)
	t.Logf("workload (%s):\n%s", time.Since(begin).Round(time.Millisecond), table.String())
	s := res.Summary
	if s.Accepted != n || s.Stuck != 0 || s.CommandErrors != 0 || s.Failed != 0 {
		t.Fatalf("the workload did not go through cleanly: %+v", s)
	}
	if n >= 20 && (s.Resolved == 0 || s.Resolved == n || s.NonEnglish == 0 || s.Qualified == 0) {
		t.Fatalf("seed gives a degenerate mix (resolved %d, non-English %d, qualified %d): pick another", s.Resolved, s.NonEnglish, s.Qualified)
	}

	// Quiescence: every outbox drained and every expected row in place.
	start := time.Now()
	dbs := map[string]*sql.DB{}
	for _, svc := range services {
		dbs[svc.Name] = openRO(t, l.db(svc))
	}
	labtest.Eventually(t, 60*time.Second, func() error { return checkDatabases(t, l, dbs, res) })
	t.Logf("databases converged %s after the workload", time.Since(start).Round(time.Millisecond))
}

// checkDatabases reads every service's database and returns everything that
// is not (yet) as the workload's outcomes require.
func checkDatabases(t *testing.T, l *runningLab, dbs map[string]*sql.DB, res *workload.Result) error {
	var errs []error
	add := func(format string, args ...any) {
		if len(errs) < 20 {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	for _, svc := range services {
		db := dbs[svc.Name]
		var unsent int
		if err := db.QueryRow(`SELECT count(*) FROM outbox WHERE sent_at IS NULL`).Scan(&unsent); err != nil {
			add("%s outbox: %v", svc.Name, err)
		} else if unsent > 0 {
			add("%s: %d outbox messages not sent yet", svc.Name, unsent)
		}
	}
	var accepted []workload.Outcome
	nonEnglish := 0
	for _, o := range res.Outcomes {
		if o.Accepted {
			accepted = append(accepted, o)
			if o.Plan.Language != "en" {
				nonEnglish++
			}
		}
	}

	// Inquiries: each one linked to its ticket, Resolved when its ticket is.
	inq := rows(t, dbs[contracts.Inquiries.Name], `SELECT id, status, ticket_id, language_code, email FROM inquiries`, add)
	if len(inq) != len(accepted) {
		add("inquiries: %d rows, want %d (one per accepted submission)", len(inq), len(accepted))
	}
	// Tickets.
	tdb := dbs[contracts.Tickets.Name]
	tix := rows(t, tdb, `SELECT id, status, language_code, translated_description, type, severity, assigned_to, deadline_utc FROM tickets`, add)
	if len(tix) != len(accepted) {
		add("tickets: %d rows, want %d", len(tix), len(accepted))
	}
	if parked := count(tdb, `SELECT count(*) FROM parked_translations`, add); parked != 0 {
		add("tickets: %d parked translations left (every translation must be attached)", parked)
	}
	// SLA records, closure messages and incident alerts.
	sla := rows(t, dbs[contracts.SLA.Name], `SELECT ticket_id, service_type, severity, tier, has_deadline, deadline, completed FROM sla_records`, add)
	cdb := dbs[contracts.Communication.Name]
	closures := map[string][]string{}
	for _, r := range rows(t, cdb, `SELECT id, idempotency_key, recipent_email FROM messages WHERE idempotency_key LIKE 'closure:%'`, add) {
		closures[r["idempotency_key"]] = append(closures[r["idempotency_key"]], r["recipent_email"])
	}
	incidents := map[string]int{}
	for _, r := range rows(t, cdb, `SELECT id, idempotency_key FROM alerts WHERE type = 'Incydent'`, add) {
		incidents[r["idempotency_key"]]++
	}

	for _, o := range accepted {
		id, p := o.InquiryID, o.Plan
		q, ok := inq[id]
		switch {
		case !ok:
			add("inquiry %s: missing", id)
		case q["ticket_id"] != id:
			add("inquiry %s: ticket_id %q, want its ticket", id, q["ticket_id"])
		case o.Resolved && q["status"] != string(contracts.InquiryResolved):
			add("inquiry %s: status %s, want Resolved (ticket resolved)", id, q["status"])
		case !o.Resolved && q["status"] != string(contracts.InquiryInProgress):
			add("inquiry %s: status %s, want InProgress", id, q["status"])
		case q["language_code"] != p.Language || q["email"] != p.Email:
			add("inquiry %s: language %s e-mail %s, want %s %s", id, q["language_code"], q["email"], p.Language, p.Email)
		}

		tk, ok := tix[id]
		wantStatus := string(contracts.StatusBeforeQualification)
		if o.Qualified {
			wantStatus = string(contracts.StatusQualified)
		}
		if o.Resolved {
			wantStatus = string(contracts.StatusResolved)
		}
		switch {
		case !ok:
			add("ticket %s: missing", id)
			continue
		case tk["status"] != wantStatus:
			add("ticket %s: status %s, want %s", id, tk["status"], wantStatus)
		case tk["language_code"] != p.Language:
			add("ticket %s: language %s, want %s", id, tk["language_code"], p.Language)
		case p.Language != "en" && (tk["translated_description"] == "" || strings.Contains(tk["translated_description"], "[[")):
			add("ticket %s (%s): translation %q, want a full English text", id, p.Language, tk["translated_description"])
		case o.Qualified && (tk["type"] != p.Type || tk["severity"] != p.Severity):
			add("ticket %s: %s/%s, want %s/%s", id, tk["type"], tk["severity"], p.Type, p.Severity)
		case o.Qualified && tk["deadline_utc"] == "":
			add("ticket %s: no SLA deadline (DeadlinesCalculated not applied)", id)
		case o.Assigned != (tk["assigned_to"] != ""):
			add("ticket %s: assigned_to %q, assigned by the desk: %v", id, tk["assigned_to"], o.Assigned)
		}

		rec, ok := sla[id]
		switch {
		case !o.Qualified && ok:
			add("sla %s: a record for a ticket never qualified", id)
		case !o.Qualified:
		case !ok:
			add("sla %s: no record for a qualified ticket", id)
		case rec["service_type"] != p.Type+"Ticket" || rec["severity"] != p.Severity:
			add("sla %s: %s/%s, want %sTicket/%s", id, rec["service_type"], rec["severity"], p.Type, p.Severity)
		case (rec["tier"] == "VIP") != p.VIP:
			add("sla %s: tier %s for %s", id, rec["tier"], p.Email)
		case rec["has_deadline"] != "1" || !sameInstant(rec["deadline"], tk["deadline_utc"]):
			add("sla %s: deadline %q (has %s), ticket's %q", id, rec["deadline"], rec["has_deadline"], tk["deadline_utc"])
		case (rec["completed"] == "1") != o.Resolved:
			add("sla %s: completed=%s, ticket resolved: %v", id, rec["completed"], o.Resolved)
		}

		cl := closures[communication.ClosureKey(id)]
		switch {
		case o.Resolved && len(cl) != 1:
			add("communication %s: %d closure messages, want exactly 1", id, len(cl))
		case !o.Resolved && len(cl) != 0:
			add("communication %s: %d closure messages for an unresolved ticket", id, len(cl))
		case o.Resolved && cl[0] != p.Email:
			add("communication %s: closure to %s, want %s", id, cl[0], p.Email)
		}
		wantAlerts := 0
		if o.Qualified && p.Type == string(contracts.TypeIncident) {
			wantAlerts = 1
		}
		if got := incidents[tickets.IncidentAlertKey(id)]; got != wantAlerts {
			add("communication %s: %d incident alerts, want %d", id, got, wantAlerts)
		}
	}

	// Translations: one request handled, one result published per non-English inquiry.
	trdb := dbs[contracts.Translations.Name]
	if got := count(trdb, `SELECT count(*) FROM inbox WHERE type = '`+contracts.TypeRequestTranslationV2+`'`, add); got != nonEnglish {
		add("translations: %d requests handled, want %d", got, nonEnglish)
	}
	if got := count(trdb, `SELECT count(*) FROM outbox WHERE type IN ('`+contracts.TypeTranslationCompleted+`', '`+contracts.TypeTranslationSkipped+`')`, add); got != nonEnglish {
		add("translations: %d results published, want %d", got, nonEnglish)
	}

	// Metrics: ticks received from every service.
	if got := count(dbs[contracts.Metrics.Name], `SELECT count(*) FROM inbox WHERE type = '`+contracts.TypeMetricTick+`'`, add); got < len(services) {
		add("metrics: %d ticks handled, want at least one per service", got)
	}
	body, err := l.liveMetrics(t.Context())
	if err != nil {
		add("metrics: %v", err)
	} else {
		var ticks []contracts.MetricTick
		if err := json.Unmarshal([]byte(body), &ticks); err != nil {
			add("metrics: /live-metrics/latest: %v: %s", err, body)
		}
		seen := map[string]bool{}
		for _, tk := range ticks {
			seen[tk.Name] = true
		}
		for _, svc := range services {
			if !seen[svc.AppName] {
				add("metrics: no tick from %s in /live-metrics/latest", svc.AppName)
			}
		}
	}
	if len(errs) == 0 {
		t.Logf("databases: %d inquiries, %d tickets, %d SLA records, %d closure messages, %d incident alerts, %d translations",
			len(inq), len(tix), len(sla), len(closures), len(incidents), nonEnglish)
	}
	return errors.Join(errs...)
}

// rows runs q and returns its rows keyed by the first column, every value as text.
func rows(t *testing.T, db *sql.DB, q string, add func(string, ...any)) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	rs, err := db.QueryContext(t.Context(), q)
	if err != nil {
		add("%s: %v", q, err)
		return out
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		add("%s: %v", q, err)
		return out
	}
	for rs.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			add("%s: %v", q, err)
			return out
		}
		row := map[string]string{}
		for i, c := range cols {
			row[c] = vals[i].String
		}
		out[vals[0].String] = row
	}
	if err := rs.Err(); err != nil {
		add("%s: %v", q, err)
	}
	return out
}

func count(db *sql.DB, q string, add func(string, ...any)) int {
	var n int
	if err := db.QueryRow(q).Scan(&n); err != nil {
		add("%s: %v", q, err)
		return -1
	}
	return n
}

// sameInstant compares two stored UTC timestamps (the services format them
// differently) to the millisecond.
func sameInstant(a, b string) bool {
	ta, err1 := time.Parse(time.RFC3339Nano, a)
	tb, err2 := time.Parse(time.RFC3339Nano, b)
	return err1 == nil && err2 == nil && ta.Sub(tb).Abs() < time.Millisecond
}

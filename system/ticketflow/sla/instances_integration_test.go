//go:build integration

package sla

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketflow/app"
	"github.com/ticketflow-lab/tflab/system/ticketflow/app/apptest"
	"github.com/ticketflow-lab/tflab/system/ticketflow/communication"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

// childEnv makes the test binary run as an SLA process (see TestMain).
const childEnv = "TFLAB_SLA_TEST_CHILD"

// runChild runs sla.Main with serve arguments until SIGTERM.
func runChild(args []string) int {
	cfg, err := service.ParseArgs(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if err := Main(ctx, cfg, log); err != nil {
		fmt.Fprintln(os.Stderr, "sla:", err)
		return 1
	}
	return 0
}

// slaProc is one SLA instance running as a child process.
type slaProc struct {
	cfg  service.Config
	url  string
	cmd  *exec.Cmd
	done chan struct{}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startSLAProc starts instance n of SLA as a child process on dbPath and
// waits until it is healthy. It is stopped (SIGTERM, then SIGKILL) when the
// test ends; its log is shown when the test failed.
func startSLAProc(t *testing.T, vh apptest.VHost, n int, dbPath string, settings map[string]string) *slaProc {
	t.Helper()
	dir := t.TempDir()
	set := apptest.Defaults()
	for k, v := range settings {
		set[k] = v
	}
	port := freePort(t)
	cfg := service.Config{System: "ticketflow", Name: contracts.SLA.Name, Instance: n, AMQPURL: vh.AMQPURL,
		HTTPAddr: fmt.Sprintf("127.0.0.1:%d", port), DBPath: dbPath, SpanFile: filepath.Join(dir, "spans.jsonl"),
		RunDir: dir, Seed: int64(n), Settings: set}
	logPath := filepath.Join(dir, "sla.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], cfg.Args()...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &slaProc{cfg: cfg, url: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		_ = logFile.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				<-p.done
			}
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("%s log (tail):\n%s", cfg.ID(), tailOf(string(b), 6000))
		}
	})
	labtest.Eventually(t, 60*time.Second, func() error {
		select {
		case <-p.done:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("%s exited during start:\n%s", cfg.ID(), tailOf(string(b), 4000))
		default:
		}
		return apptest.GetJSON(p.url+"/health", nil)
	})
	return p
}

func tailOf(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// handled counts the ticket-event handlings in an instance's span file that
// committed.
func (p *slaProc) handled(t *testing.T) int {
	t.Helper()
	if _, err := os.Stat(p.cfg.SpanFile); errors.Is(err, os.ErrNotExist) {
		return 0
	}
	n := 0
	for _, r := range readSpans(t, p.cfg.SpanFile) {
		if r.Kind == trace.SpanKindConsumer && slices.Contains(contracts.TicketEventTypes(), spanAttr(r, "lab.message.type")) &&
			spanAttr(r, "lab.tx.outcome") == "committed" {
			n++
		}
	}
	return n
}

// TestTwoInstancesActiveAndStandby runs two SLA processes on one broker
// vhost and one shared database, as `tflab up --instances sla=2` does, with
// Communication in-process (idempotency off, so a message posted twice is
// stored twice). sla-ticket-changes has a single active consumer: one
// instance handles every ticket event, the other stands by. Tickets get
// their deadlines and first reminders; then the active instance is killed
// with SIGKILL between two rounds of reminders. The standby takes over the
// queue, the scheduler and the outbox: it applies the next events of the
// tickets the first instance had started (its ordering guard state is in the
// shared database), new tickets get their deadlines, and every reminder and
// breach is performed exactly once, each agent message and alert stored once.
func TestTwoInstancesActiveAndStandby(t *testing.T) {
	vh := apptest.NewVHost(t)
	deadlines := vh.Capture(t, contracts.ExchangeSLA, contracts.KeyDeadlinesCalculated)
	comm := apptest.Start(t, vh, contracts.Communication, func(rt *app.Runtime) error { communication.Wire(rt); return nil },
		apptest.Options{Unprotect: []string{app.ProtIdempotency}, Migrations: []store.Migrations{communication.Migrations}})

	// VIP critical incident: one minute x 0.3 = 18 s; reminders at 4.5 s,
	// 9 s and 16.2 s, breaches 1 s after the deadline, then every 2 s.
	dbPath := filepath.Join(t.TempDir(), "sla.sqlite")
	settings := map[string]string{SettingScale: "0.3", SettingBreachDelay: "1s", SettingBreachInterval: "2s",
		SettingCommunicationURL: comm.URL, SettingMaxWait: "200ms", SettingClaimTTL: "3s"}
	procs := []*slaProc{startSLAProc(t, vh, 1, dbPath, settings), startSLAProc(t, vh, 2, dbPath, settings)}

	db, err := store.Open(t.Context(), store.Config{Path: dbPath})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st := NewSQLStore(db, DefaultConfig(), nil)
	pub := &ticketPublisher{t: t, ch: vh.Channel(t)}
	const agent = "agent-1"
	base := labtest.UniqueName(t, "tkt")
	open := func(ids ...string) {
		for _, id := range ids {
			now := time.Now().UTC()
			pub.publish(contracts.TicketCreated{ID: id, Version: 1, Email: "anna@devmentors.io", Status: contracts.StatusBeforeQualification, CreatedAt: now})
			pub.publish(contracts.TicketQualified{TicketID: id, Version: 2, Type: contracts.TypeIncident, SeverityLevel: contracts.SeverityCritical,
				Email: "anna@devmentors.io", CreatedAt: now})
			pub.publish(contracts.IncidentCreated{TicketID: id, Version: 3, AlertMessageContent: "Incydent " + id, AlertType: contracts.AlertIncident,
				AlertKey: "incident:" + id})
			pub.publish(contracts.AgentAssignedToTicket{TicketID: id, Version: 4, AssignedAgentUserID: agent})
		}
	}
	resolve := func(ids ...string) {
		for _, id := range ids {
			pub.publish(contracts.TicketResolved{TicketID: id, Version: 5, Status: contracts.StatusResolved, Email: "anna@devmentors.io",
				Resolution: "done", AssignedAgentUserID: agent})
		}
	}
	// records waits until every ticket's record has applied version want.
	records := func(want int, ids ...string) {
		t.Helper()
		labtest.Eventually(t, 30*time.Second, func() error {
			for _, id := range ids {
				r, err := st.Record(t.Context(), id)
				if err != nil {
					return err
				}
				if r.LastKnownVersion != want {
					return fmt.Errorf("%s at version %d, want %d", id, r.LastKnownVersion, want)
				}
			}
			return nil
		})
	}
	// effects waits until every ticket has performed action key(id).
	effects := func(key func(id string) string, ids ...string) {
		t.Helper()
		labtest.Eventually(t, 30*time.Second, func() error {
			for _, id := range ids {
				rows, err := st.Effects(t.Context(), id)
				if err != nil {
					return err
				}
				if !slices.ContainsFunc(rows, func(e EffectRow) bool { return e.Key == key(id) }) {
					return fmt.Errorf("%s not performed yet", key(id))
				}
			}
			return nil
		})
	}
	reminder := func(n int) func(string) string {
		return func(id string) string { return fmt.Sprintf("reminder:%s:%d", id, n) }
	}
	ids := func(from, to int) []string {
		var out []string
		for i := from; i <= to; i++ {
			out = append(out, fmt.Sprintf("%s-%d", base, i))
		}
		return out
	}
	first, second := ids(1, 4), ids(5, 8)

	// Phase 1: four tickets, all handled by one instance.
	open(first...)
	records(4, first...)
	effects(reminder(1), first...)
	var h1, h2 int
	labtest.Eventually(t, 10*time.Second, func() error {
		if h1, h2 = procs[0].handled(t), procs[1].handled(t); h1+h2 < 4*len(first) {
			return fmt.Errorf("%d handling spans written", h1+h2)
		}
		return nil
	})
	if h1*h2 != 0 || h1+h2 != 4*len(first) {
		t.Fatalf("ticket events handled %d by sla and %d by sla-2: want all %d by one (single active consumer)", h1, h2, 4*len(first))
	}
	active, standby := procs[0], procs[1]
	if h2 > 0 {
		active, standby = procs[1], procs[0]
	}
	t.Logf("active %s, standby %s", active.cfg.ID(), standby.cfg.ID())

	// Every first reminder is committed; the second ones are due 4.5 s
	// after them: kill the active instance in that quiet gap.
	if err := active.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-active.done
	killedAt := time.Now()

	// Phase 2: the standby continues the running tickets (two resolved,
	// version 5 right after the killed instance's version 4) and takes new ones.
	resolve(first[:2]...)
	open(second...)
	records(5, first[:2]...)
	records(4, second...)
	var n int
	labtest.Eventually(t, 10*time.Second, func() error {
		if n = standby.handled(t); n < 2+4*len(second) {
			return fmt.Errorf("the standby handled %d ticket events so far", n)
		}
		return nil
	})
	if n != 2+4*len(second) {
		t.Fatalf("the standby handled %d ticket events after the takeover, want %d", n, 2+4*len(second))
	}
	open3 := append(slices.Clone(first[2:]), second...)
	effects(reminder(3), open3...)
	resolve(open3...)
	records(5, open3...)

	// Every ticket got one deadline (one message id per ticket and revision).
	all := append(slices.Clone(first), second...)
	dl := map[string][]string{}
	labtest.Eventually(t, 20*time.Second, func() error {
	drain:
		for {
			select {
			case d := <-deadlines:
				var dc contracts.DeadlinesCalculated
				if err := json.Unmarshal(d.Body, &dc); err != nil {
					return err
				}
				if id := dc.ServiceSourceID; !slices.Contains(dl[id], d.MessageId) {
					dl[id] = append(dl[id], d.MessageId)
				}
			default:
				break drain
			}
		}
		for _, id := range all {
			if len(dl[id]) == 0 {
				return fmt.Errorf("no DeadlinesCalculated for %s", id)
			}
		}
		return nil
	})
	for _, id := range all {
		if len(dl[id]) != 1 {
			t.Errorf("%s: DeadlinesCalculated under %d message ids %v, want 1", id, len(dl[id]), dl[id])
		}
	}

	// Every performed action is stored once in Communication: agent
	// messages by key, breaches as alerts.
	cdb, err := store.Open(t.Context(), store.Config{Path: comm.Config.DBPath})
	if err != nil {
		t.Fatal(err)
	}
	defer cdb.Close()
	countKey := func(table, key string) int {
		var n int
		if err := cdb.QueryRow(t.Context(), `SELECT COUNT(*) FROM `+table+` WHERE idempotency_key = ?`, key).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	var rows []EffectRow
	labtest.Eventually(t, 20*time.Second, func() error {
		var err error
		if rows, err = st.Effects(t.Context(), ""); err != nil {
			return err
		}
		for _, e := range rows {
			if e.MessageKey != "" && countKey("messages", e.MessageKey) == 0 {
				return fmt.Errorf("message %s not stored yet", e.MessageKey)
			}
			if e.Kind == RaiseBreach && countKey("alerts", e.Key) == 0 {
				return fmt.Errorf("alert %s not stored yet", e.Key)
			}
		}
		return nil
	})
	after := 0
	for _, e := range rows {
		if e.MessageKey != "" {
			if n := countKey("messages", e.MessageKey); n != 1 {
				t.Errorf("agent message %s stored %d times", e.MessageKey, n)
			}
		}
		if e.Kind == RaiseBreach {
			if n := countKey("alerts", e.Key); n != 1 {
				t.Errorf("alert %s stored %d times", e.Key, n)
			}
		}
		if e.Done.After(killedAt) {
			after++
		}
	}
	for _, id := range open3 {
		for n := 1; n <= Reminders; n++ {
			if !slices.ContainsFunc(rows, func(e EffectRow) bool { return e.Key == reminder(n)(id) }) {
				t.Errorf("%s never performed", reminder(n)(id))
			}
		}
	}
	dups, err := communication.NewSQLStore(cdb, false).DuplicateKeys(t.Context(), "messages")
	if err != nil || len(dups) != 0 {
		t.Errorf("agent messages stored twice: %v %v", dups, err)
	}
	if after == 0 {
		t.Error("no SLA action was performed after the kill: the standby's scheduler did nothing")
	}
	var reminders, breaches int
	for _, e := range rows {
		if strings.HasPrefix(e.Key, "reminder:") {
			reminders++
		} else {
			breaches++
		}
	}
	t.Logf("%d reminders and %d breaches performed, %d of them after the kill", reminders, breaches, after)
}

package anomalies

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/internal/supervisor"
	"github.com/ticketflow-lab/tflab/system/runtime/clock"
	"github.com/ticketflow-lab/tflab/system/ticketflow/anomaly"
)

func TestEvidenceAddMaxAndNil(t *testing.T) {
	e := NewEvidence()
	e.Add("a", 2)
	e.Add("a", 3)
	e.Add("zero", 0)
	e.Max("m", 5)
	e.Max("m", 3)
	e.Max("neg", -4)
	got := e.Counters()
	if got["a"] != 5 || got["m"] != 5 || got["neg"] != -4 {
		t.Fatalf("counters %v", got)
	}
	if _, ok := got["zero"]; !ok {
		t.Error("a counter added with 0 must be recorded (looked, saw nothing)")
	}
	var none *Evidence
	none.Add("a", 1)
	none.Max("a", 1)
	if len(none.Counters()) != 0 {
		t.Error("nil evidence recorded something")
	}
}

func TestParseMetricLine(t *testing.T) {
	out := byteCounts{}
	for _, l := range []string{
		`# HELP toxiproxy_proxy_received_bytes_total x`,
		`toxiproxy_proxy_received_bytes_total{direction="upstream",listener="127.0.0.1:1",proxy="tickets-amqp",upstream="127.0.0.1:2"} 100`,
		`toxiproxy_proxy_received_bytes_total{direction="downstream",listener="127.0.0.1:1",proxy="tickets-amqp",upstream="127.0.0.1:2"} 50`,
		`toxiproxy_proxy_sent_bytes_total{direction="upstream",listener="127.0.0.1:1",proxy="tickets-amqp",upstream="127.0.0.1:2"} 1.5e+01`,
		`toxiproxy_proxy_sent_bytes_total{direction="upstream",proxy="sla-amqp"} 7`,
		`toxiproxy_proxy_sent_bytes_total{direction="upstream",proxy="sla-amqp"} garbage`,
		`go_goroutines 12`,
	} {
		parseMetricLine(l, out)
	}
	if got := out["tickets-amqp"]; got != [2]float64{150, 15} {
		t.Errorf("tickets-amqp %v, want [150 15]", got)
	}
	if got := out["sla-amqp"]; got != [2]float64{0, 7} {
		t.Errorf("sla-amqp %v, want [0 7]", got)
	}
}

func TestInstancesLookup(t *testing.T) {
	env := &Env{Instances: []Instance{
		{Service: "sla", ID: "sla", Number: 1}, {Service: "sla", ID: "sla-2", Number: 2}, {Service: "tickets", ID: "tickets", Number: 1},
	}}
	all, err := env.instances("sla", 0)
	if err != nil || len(all) != 2 {
		t.Fatalf("all sla: %v %v", all, err)
	}
	two, err := env.instances("sla", 2)
	if err != nil || len(two) != 1 || two[0].ID != "sla-2" {
		t.Fatalf("sla-2: %v %v", two, err)
	}
	if _, err := env.instances("sla", 3); err == nil || !strings.Contains(err.Error(), "no instance 3") {
		t.Errorf("missing instance: %v", err)
	}
	if _, err := env.instances("mail", 0); err == nil || !strings.Contains(err.Error(), "have sla, tickets") {
		t.Errorf("unknown service: %v", err)
	}
}

// anomalyServer serves the real Ticketflow anomaly API of one instance.
func anomalyServer(t *testing.T) (*anomaly.Registry, *httptest.Server) {
	reg := anomaly.NewRegistry(nil)
	srv := httptest.NewServer(anomaly.NewHandler(reg, nil, nil))
	t.Cleanup(srv.Close)
	return reg, srv
}

func TestInAppEnablesOnEveryInstanceAndHealCountsFirings(t *testing.T) {
	reg1, srv1 := anomalyServer(t)
	reg2, srv2 := anomalyServer(t)
	ev := NewEvidence()
	env := &Env{Evidence: ev, Log: labtest.Logger(t), Instances: []Instance{
		{Service: "communication", ID: "communication", Number: 1, HTTP: srv1.URL},
		{Service: "communication", ID: "communication-2", Number: 2, HTTP: srv2.URL},
	}}
	a := &InApp{Env: env, Anomaly: "ConsumerDelayAfterHandler", Service: "communication", MessageType: "TicketResolved", DelayInMs: 300}
	h, err := a.Inject(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, reg := range []*anomaly.Registry{reg1, reg2} {
		act := reg.Check(anomaly.AfterHandler, "TicketResolved", "")
		if act.Delay != 300*time.Millisecond {
			t.Fatalf("instance not faulted: action %+v", act)
		}
	}
	reg2.Check(anomaly.AfterHandler, "TicketResolved", "")
	if act := reg1.Check(anomaly.AfterHandler, "TicketCreated", ""); !act.None() {
		t.Errorf("another message type is faulted: %+v", act)
	}
	if err := h.Heal(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(reg1.List()) + len(reg2.List()); n != 0 {
		t.Errorf("%d anomalies left after heal", n)
	}
	if got := ev.Counters()[CounterInAppFired]; got != 3 {
		t.Errorf("inapp.fired = %v, want 3", got)
	}
}

func TestInAppFailedInjectLeavesNothingInstalled(t *testing.T) {
	reg1, srv1 := anomalyServer(t)
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	defer broken.Close()
	env := &Env{Instances: []Instance{
		{Service: "sla", ID: "sla", Number: 1, HTTP: srv1.URL},
		{Service: "sla", ID: "sla-2", Number: 2, HTTP: broken.URL},
	}}
	a := &InApp{Env: env, Anomaly: "ConsumerErrorBeforeHandler", Service: "sla", MessageType: "TicketQualified"}
	if _, err := a.Inject(t.Context()); err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("inject error %v, want the 500", err)
	}
	if l := reg1.List(); len(l) != 0 {
		t.Errorf("first instance kept %v after the failed inject", l)
	}
	bad := &InApp{Env: env, Anomaly: "NoSuchAnomaly", Service: "sla", MessageType: "X"}
	if _, err := bad.Inject(t.Context()); !isStatus(err, http.StatusBadRequest) {
		t.Errorf("unknown anomaly type: %v, want a 400 from the service", err)
	}
}

// clockServer serves GET/POST /lab/clock over a real clock, like the services.
func clockServer(t *testing.T) (*clock.Real, *httptest.Server) {
	clk := clock.NewReal(0)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /lab/clock", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(clockState{OffsetMs: clk.Offset().Milliseconds()})
	})
	mux.HandleFunc("POST /lab/clock", func(w http.ResponseWriter, r *http.Request) {
		var c clockState
		if err := json.NewDecoder(r.Body).Decode(&c); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		clk.SetOffset(time.Duration(c.OffsetMs) * time.Millisecond)
		_ = json.NewEncoder(w).Encode(c)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return clk, srv
}

func TestClockOffsetMovesTheClockAndHealResetsIt(t *testing.T) {
	clk, srv := clockServer(t)
	ev := NewEvidence()
	env := &Env{Evidence: ev, Instances: []Instance{{Service: "sla", ID: "sla", Number: 1, HTTP: srv.URL}}}
	p := &Process{Env: env, Op: OpClockOffset, Service: "sla", Offset: -30 * time.Minute}
	h, err := p.Inject(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(clk.Now()); d > -29*time.Minute || d < -31*time.Minute {
		t.Fatalf("service clock is %v from now, want about -30m", d)
	}
	if got := ev.Counters()[CounterClockOffsetMaxMs]; got != 1_800_000 {
		t.Errorf("clock.offset.max-ms = %v", got)
	}
	if err := h.Heal(t.Context()); err != nil {
		t.Fatal(err)
	}
	if clk.Offset() != 0 {
		t.Errorf("offset after heal %v", clk.Offset())
	}
}

func TestClockOffsetRefusesAServiceThatIgnoresIt(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"offsetMs":0}`))
	}))
	defer srv.Close()
	env := &Env{Instances: []Instance{{Service: "sla", ID: "sla", Number: 1, HTTP: srv.URL}}}
	_, err := (&Process{Env: env, Op: OpClockOffset, Service: "sla", Offset: time.Minute}).Inject(t.Context())
	if err == nil || !strings.Contains(err.Error(), "reports offset 0 ms") {
		t.Fatalf("err %v", err)
	}
}

// sleepers starts n real child processes under a supervisor, named like
// instances of service "svc".
func sleepers(t *testing.T, n int) (*supervisor.Supervisor, []Instance) {
	t.Helper()
	path, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	sup := supervisor.New(supervisor.Options{StopGrace: 2 * time.Second, Log: labtest.Logger(t)})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = sup.StopAll(ctx)
	})
	var ins []Instance
	for i := 1; i <= n; i++ {
		id := "svc"
		if i > 1 {
			id += "-" + string(rune('0'+i))
		}
		if _, err := sup.Start(supervisor.Spec{Name: id, Path: path, Args: []string{"300"}}); err != nil {
			t.Fatal(err)
		}
		ins = append(ins, Instance{Service: "svc", ID: id, Number: i})
	}
	return sup, ins
}

func state(t *testing.T, sup *supervisor.Supervisor, id string) string {
	t.Helper()
	in, err := sup.Info(id)
	if err != nil {
		t.Fatal(err)
	}
	if in.State == supervisor.Exited {
		return "exited"
	}
	return lab.ProcessState(in.PID)
}

func TestProcessKillAndHealRestarts(t *testing.T) {
	sup, ins := sleepers(t, 2)
	ev := NewEvidence()
	env := &Env{Processes: sup, Instances: ins, Evidence: ev, Log: labtest.Logger(t)}
	before, _ := sup.Info("svc-2")
	h, err := (&Process{Env: env, Op: OpKill, Service: "svc", Instance: 2}).Inject(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if s := state(t, sup, "svc-2"); s != "exited" {
		t.Fatalf("svc-2 is %s after kill", s)
	}
	if s := state(t, sup, "svc"); s != "running" {
		t.Fatalf("svc (not targeted) is %s", s)
	}
	if err := h.Heal(t.Context()); err != nil {
		t.Fatal(err)
	}
	after, _ := sup.Info("svc-2")
	if after.State != supervisor.Running || after.PID == before.PID || after.Starts != 2 {
		t.Fatalf("after heal: %+v (before pid %d)", after, before.PID)
	}
	if ev.Counters()[CounterProcessesKilled] != 1 {
		t.Errorf("evidence %v", ev.Counters())
	}
}

func TestProcessPauseResumeAndRestart(t *testing.T) {
	sup, ins := sleepers(t, 2)
	env := &Env{Processes: sup, Instances: ins, Evidence: NewEvidence()}
	h, err := (&Process{Env: env, Op: OpPause, Service: "svc"}).Inject(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"svc", "svc-2"} {
		labtest.Eventually(t, 5*time.Second, func() error {
			if s := state(t, sup, id); s != "paused" {
				return errors.New(id + " is " + s)
			}
			return nil
		})
	}
	if err := h.Heal(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"svc", "svc-2"} {
		labtest.Eventually(t, 5*time.Second, func() error {
			if s := state(t, sup, id); s != "running" {
				return errors.New(id + " is " + s)
			}
			return nil
		})
	}
	before, _ := sup.Info("svc")
	h, err = (&Process{Env: env, Op: OpRestart, Service: "svc", Instance: 1}).Inject(t.Context())
	if err != nil || h != Nothing {
		t.Fatalf("restart: %v (healer %v)", err, h)
	}
	after, _ := sup.Info("svc")
	if after.PID == before.PID || after.State != supervisor.Running {
		t.Errorf("restart kept pid %d / state %s", after.PID, after.State)
	}
}

func TestHealContextSurvivesCancel(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	cancel()
	ctx, done := HealContext(parent, time.Second)
	defer done()
	if ctx.Err() != nil {
		t.Fatal("heal context cancelled with its parent")
	}
	dl, ok := ctx.Deadline()
	if !ok || time.Until(dl) > time.Second {
		t.Errorf("deadline %v", dl)
	}
}

// Concurrency smoke test: evidence from many goroutines adds up.
func TestEvidenceConcurrent(t *testing.T) {
	e := NewEvidence()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				e.Add("n", 1)
				e.Max("m", 3)
			}
		})
	}
	wg.Wait()
	if e.Counters()["n"] != 800 {
		t.Fatal(e.Counters())
	}
}

// A change applied on the instance whose broadcast failed (503) is done for
// the executor, which addresses every instance itself; another 503 is not.
func TestInAppAcceptsALocalOnlyChange(t *testing.T) {
	body := `{"error":"applied on this instance, but the broadcast to other instances failed: no broker"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, body, http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	env := &Env{Instances: []Instance{{Service: "sla", ID: "sla", Number: 1, HTTP: srv.URL}}}
	h, err := (&InApp{Env: env, Anomaly: "ConsumerErrorBeforeHandler", Service: "sla", MessageType: "TicketQualified"}).Inject(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Heal(t.Context()); err != nil {
		t.Fatal(err)
	}
	body = `{"error":"unhealthy"}`
	if _, err := (&InApp{Env: env, Anomaly: "ConsumerErrorBeforeHandler", Service: "sla", MessageType: "TicketQualified"}).Inject(t.Context()); err == nil {
		t.Fatal("a plain 503 was accepted")
	}
}

//go:build integration

package lab_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ticketflow-lab/tflab/internal/broker"
	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/internal/labtest/placeholder"
)

// TestMain doubles as the service binary of the tests' labs: they run
// the placeholder service (placeholder.Command).
func TestMain(m *testing.M) { os.Exit(placeholder.TestMain(m)) }

type health struct {
	code int
	body placeholder.Health
}

func getHealth(base string) (health, error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(base + "/health")
	if err != nil {
		return health{}, err
	}
	defer resp.Body.Close()
	var h health
	h.code = resp.StatusCode
	return h, json.NewDecoder(resp.Body).Decode(&h.body)
}

func healthyStatus(t *testing.T, l *lab.Lab, id string, want bool) func() error {
	return func() error {
		st := l.Status(t.Context())
		if got := st.Services[id].Healthy; got != want {
			return fmt.Errorf("%s healthy=%v, want %v (%+v)", id, got, want, st.Services[id])
		}
		return nil
	}
}

func TestLabLifecycleAndProcessFaults(t *testing.T) {
	b := labtest.SharedBroker(t)
	runs := filepath.Join(t.TempDir(), "runs")
	runDir, err := lab.NewRunDir(runs, "ticketflow", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	serve, serveEnv := placeholder.Command()
	l, err := lab.Start(t.Context(), lab.Config{
		System:   "ticketflow",
		Services: []lab.ServiceSpec{{Name: "placeholder", Instances: 2, Settings: map[string]string{"amqp.reconnect_max": "200ms"}}},
		Broker:   broker.External{AMQPURL: b.AMQPURL, ManagementURL: b.ManagementURL},
		Ports:    lab.PortsRandom,
		RunDir:   runDir,
		Command:  serve,
		Env:      serveEnv,
		Seed:     7,
		Log:      labtest.Logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Stop(context.Background())
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := l.WaitHealthy(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("healthy %s after Start (external broker)", time.Since(start).Round(time.Millisecond))

	t.Run("status and lab.json", func(t *testing.T) {
		st := l.Status(t.Context())
		if !st.Running || !st.Broker.Healthy || !st.ToxiproxyHealthy || st.Broker.AMQP != b.AMQPURL || st.Seed != 7 {
			t.Fatalf("status %+v", st)
		}
		if len(st.Services) != 2 {
			t.Fatalf("services %v", st.IDs())
		}
		for id, proxy := range map[string]string{"placeholder": "placeholder-amqp", "placeholder-2": "placeholder-2-amqp"} {
			s := st.Services[id]
			if !s.Healthy || s.PID == 0 || s.State != "running" || s.Proxy != proxy || s.AMQPProxy == "" {
				t.Fatalf("%s: %+v", id, s)
			}
			addr, err := l.Toxiproxy().ProxyAddr(proxy)
			if err != nil || addr != s.AMQPProxy {
				t.Fatalf("proxy %s at %q (%v), status says %q", proxy, addr, err, s.AMQPProxy)
			}
		}
		dir, onDisk, err := lab.FindLive(runs)
		if err != nil || dir != l.RunDir() {
			t.Fatalf("FindLive = %s, %v; want %s", dir, err, l.RunDir())
		}
		if onDisk.ControlPID != os.Getpid() || onDisk.Toxiproxy != st.Toxiproxy || onDisk.Services["placeholder-2"].PID != st.Services["placeholder-2"].PID {
			t.Fatalf("lab.json differs from status:\n%+v\n%+v", onDisk, st)
		}
		if _, err := os.Stat(filepath.Join(l.RunDir(), "logs", "placeholder-2.log")); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("every listener binds loopback", func(t *testing.T) {
		// The lab (Toxiproxy, message proxies, lab API) runs in this process,
		// its services are children of it, and the broker is the test
		// binary's private node when there is one (also a child).
		pids := []int{os.Getpid()}
		if b.Node != nil {
			pids = append(pids, b.Node.PID())
		}
		ls, err := labtest.Listeners(pids...)
		if err != nil {
			t.Fatal(err)
		}
		// The walk reached the services: each holds its HTTP listener.
		for _, id := range []string{"placeholder", "placeholder-2"} {
			pid := l.Info().Services[id].PID
			if !slices.ContainsFunc(ls, func(x labtest.Listener) bool { return x.PID == pid }) {
				t.Errorf("no listener of %s (pid %d) among %v", id, pid, ls)
			}
		}
		for _, l := range ls {
			if l.Wildcard() {
				t.Errorf("listener on every address: %s", l)
			}
		}
		t.Logf("%d listeners: %v", len(ls), ls)
	})

	t.Run("disabled proxy takes the service's AMQP down until enabled", func(t *testing.T) {
		s := l.Info().Services["placeholder"]
		proxy, err := toxiclient.NewClient(l.Info().Toxiproxy).Proxy(s.Proxy)
		if err != nil {
			t.Fatal(err)
		}
		if err := proxy.Disable(); err != nil {
			t.Fatal(err)
		}
		labtest.Eventually(t, 10*time.Second, func() error {
			h, err := getHealth(s.HTTP)
			if err != nil {
				return err
			}
			if h.code != http.StatusServiceUnavailable || h.body.AMQP.Connected {
				return fmt.Errorf("want AMQP down, got %d %+v", h.code, h.body.AMQP)
			}
			return nil
		})
		labtest.Eventually(t, 5*time.Second, healthyStatus(t, l, "placeholder", false))
		if !l.Status(t.Context()).Services["placeholder-2"].Healthy {
			t.Fatal("the other instance's link went down too")
		}
		if err := proxy.Enable(); err != nil {
			t.Fatal(err)
		}
		labtest.Eventually(t, 10*time.Second, func() error {
			h, err := getHealth(s.HTTP)
			if err != nil {
				return err
			}
			if h.code != http.StatusOK || !h.body.AMQP.Connected || h.body.AMQP.Connects < 2 {
				return fmt.Errorf("want a reconnected AMQP link, got %d %+v", h.code, h.body.AMQP)
			}
			return nil
		})
	})

	t.Run("pause and resume", func(t *testing.T) {
		sup := l.Supervisor()
		pid := l.Info().Services["placeholder"].PID
		if err := sup.Pause("placeholder"); err != nil {
			t.Fatal(err)
		}
		labtest.Eventually(t, 5*time.Second, func() error {
			if st := lab.ProcessState(pid); st != "paused" {
				return fmt.Errorf("state %s, want paused ('T' in /proc/%d/stat)", st, pid)
			}
			return nil
		})
		st := l.Status(t.Context()).Services["placeholder"]
		if st.State != "paused" || st.Healthy {
			t.Fatalf("paused service: %+v", st)
		}
		if onDisk, _ := lab.ReadInfo(l.RunDir()); onDisk.Services["placeholder"].State != "paused" {
			t.Fatalf("lab.json state %s", onDisk.Services["placeholder"].State)
		}
		if err := sup.Resume("placeholder"); err != nil {
			t.Fatal(err)
		}
		labtest.Eventually(t, 10*time.Second, healthyStatus(t, l, "placeholder", true))
	})

	t.Run("kill -9 then restart", func(t *testing.T) {
		sup := l.Supervisor()
		old := l.Info().Services["placeholder-2"].PID
		if err := sup.Kill(t.Context(), "placeholder-2"); err != nil {
			t.Fatal(err)
		}
		if st := lab.ProcessState(old); st != "exited" {
			t.Fatalf("killed process state %s", st)
		}
		st := l.Status(t.Context()).Services["placeholder-2"]
		if st.State != "exited" || st.Healthy {
			t.Fatalf("killed service: %+v", st)
		}
		pid, err := sup.Restart(t.Context(), "placeholder-2")
		if err != nil {
			t.Fatal(err)
		}
		if pid == old {
			t.Fatalf("restart kept pid %d", pid)
		}
		labtest.Eventually(t, 10*time.Second, healthyStatus(t, l, "placeholder-2", true))
		onDisk, err := lab.ReadInfo(l.RunDir())
		if err != nil {
			t.Fatal(err)
		}
		if s := onDisk.Services["placeholder-2"]; s.PID != pid || s.Starts != 2 || s.State != "running" {
			t.Fatalf("lab.json after restart: %+v (new pid %d)", s, pid)
		}
	})

	t.Run("message faults through the lab API", func(t *testing.T) {
		testMessageFaultsThroughAPI(t, l, b.AMQPURL)
	})

	t.Run("stop leaves nothing running", func(t *testing.T) {
		in := l.Info()
		if err := l.Stop(t.Context()); err != nil {
			t.Fatal(err)
		}
		for id, s := range in.Services {
			if st := lab.ProcessState(s.PID); st != "exited" {
				t.Errorf("%s (pid %d) still %s", id, s.PID, st)
			}
			if _, err := getHealth(s.HTTP); err == nil {
				t.Errorf("%s still answers HTTP", id)
			}
		}
		if _, err := http.Get(in.Toxiproxy + "/version"); err == nil {
			t.Error("Toxiproxy API still answers")
		}
		if _, err := http.Get(in.LabAPI + "/info"); err == nil {
			t.Error("the lab API still answers")
		}
		for id, s := range in.Services {
			if c, err := net.DialTimeout("tcp", s.MessageProxy, time.Second); err == nil {
				c.Close()
				t.Errorf("%s's message proxy %s still accepts connections", id, s.MessageProxy)
			}
		}
		onDisk, err := lab.ReadInfo(l.RunDir())
		if err != nil {
			t.Fatal(err)
		}
		if onDisk.Running || onDisk.StoppedAt == nil {
			t.Fatalf("lab.json not marked stopped: running=%v stopped_at=%v", onDisk.Running, onDisk.StoppedAt)
		}
		if _, _, err := lab.FindLive(runs); !errors.Is(err, lab.ErrNoLab) {
			t.Fatalf("FindLive after stop: %v", err)
		}
		if err := broker.Ping(t.Context(), b.AMQPURL, 5*time.Second); err != nil {
			t.Fatalf("the borrowed broker was stopped: %v", err)
		}
	})
}

// testMessageFaultsThroughAPI checks the chain service → Toxiproxy →
// message proxy → broker and a rule installed through the lab API: a client
// on the placeholder's link gets one delivery twice, the evidence names it,
// the other instance's proxy is untouched, and after the rule is removed
// deliveries pass once.
func testMessageFaultsThroughAPI(t *testing.T, l *lab.Lab, amqpURL string) {
	in := l.Info()
	if in.LabAPI == "" {
		t.Fatal("lab.json has no lab_api")
	}
	var fromAPI lab.Info
	apiJSON(t, http.MethodGet, in.LabAPI+"/info", "", http.StatusOK, &fromAPI)
	if fromAPI.LabAPI != in.LabAPI || len(fromAPI.Services) != 2 {
		t.Fatalf("GET /info: %+v", fromAPI)
	}
	onDisk, err := lab.ReadInfo(l.RunDir())
	if err != nil {
		t.Fatal(err)
	}
	if onDisk.LabAPI != in.LabAPI {
		t.Fatalf("lab.json lab_api %q, want %q", onDisk.LabAPI, in.LabAPI)
	}
	for id, s := range onDisk.Services {
		proxy, err := toxiclient.NewClient(in.Toxiproxy).Proxy(s.Proxy)
		if err != nil {
			t.Fatal(err)
		}
		if s.MessageProxy == "" || proxy.Upstream != s.MessageProxy || l.MessageProxy(id).Addr() != s.MessageProxy {
			t.Fatalf("%s: Toxiproxy upstream %q, message_proxy %q: want the chain Toxiproxy → message proxy", id, proxy.Upstream, s.MessageProxy)
		}
		if l.MessageProxy(id).Upstream() != s.Upstream {
			t.Fatalf("%s: message proxy upstream %q, want the broker %q", id, l.MessageProxy(id).Upstream(), s.Upstream)
		}
	}

	base := in.LabAPI + lab.ServicePath("placeholder")
	apiJSON(t, http.MethodGet, in.LabAPI+lab.ServicePath("no-such")+"/faults", "", http.StatusNotFound, nil)
	apiJSON(t, http.MethodPost, base+"/faults", `{"fault":"no-such-fault"}`, http.StatusBadRequest, nil)

	s := in.Services["placeholder"]
	url, err := broker.WithHost(amqpURL, s.AMQPProxy)
	if err != nil {
		t.Fatal(err)
	}
	_, ch := labtest.Channel(t, url)
	q, err := ch.QueueDeclare(labtest.UniqueName(t, "q"), false, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	deliveries, err := ch.Consume(q.Name, "", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	publish := func(id string) {
		t.Helper()
		if err := ch.PublishWithContext(t.Context(), "", q.Name, false, false,
			amqp.Publishing{MessageId: id, Type: "Probe", Body: []byte(id)}); err != nil {
			t.Fatal(err)
		}
	}
	next := func() string {
		t.Helper()
		select {
		case d := <-deliveries:
			if err := d.Ack(false); err != nil {
				t.Fatal(err)
			}
			return d.MessageId
		case <-time.After(10 * time.Second):
			t.Fatal("no delivery within 10 s")
			return ""
		}
	}

	var added struct {
		ID    string `json:"id"`
		Fault string `json:"fault"`
	}
	apiJSON(t, http.MethodPost, base+"/faults",
		fmt.Sprintf(`{"id":"dup","fault":"duplicate-delivery","match":{"queue":%q,"type":"Probe"},"limit":1}`, q.Name),
		http.StatusCreated, &added)
	if added.ID != "dup" || added.Fault != "duplicate-delivery" {
		t.Fatalf("added rule %+v", added)
	}
	publish("m1")
	publish("m2")
	if got := []string{next(), next(), next()}; fmt.Sprint(got) != "[m1 m1 m2]" {
		t.Fatalf("deliveries %v, want m1 twice then m2 (limit 1)", got)
	}

	var ev struct {
		Counts map[string]int64 `json:"counts"`
		Events []struct {
			Rule      string `json:"rule"`
			Fault     string `json:"fault"`
			MessageID string `json:"message_id"`
		} `json:"events"`
	}
	apiJSON(t, http.MethodGet, base+"/evidence", "", http.StatusOK, &ev)
	if ev.Counts["duplicate-delivery"] != 1 || len(ev.Events) != 1 || ev.Events[0].MessageID != "m1" || ev.Events[0].Rule != "dup" {
		t.Fatalf("evidence %+v, want one duplicate-delivery of m1 by rule dup", ev)
	}
	var other struct {
		Counts map[string]int64 `json:"counts"`
	}
	apiJSON(t, http.MethodGet, in.LabAPI+lab.ServicePath("placeholder-2")+"/evidence", "", http.StatusOK, &other)
	if len(other.Counts) != 0 {
		t.Fatalf("the other instance's proxy applied faults: %v", other.Counts)
	}
	labtest.Eventually(t, 5*time.Second, func() error {
		b, err := os.ReadFile(filepath.Join(l.RunDir(), "logs", lab.MessageFaultsFile))
		if err != nil {
			return err
		}
		var e lab.FaultEvent
		if err := json.Unmarshal(b, &e); err != nil {
			return fmt.Errorf("%s: %w", b, err)
		}
		if e.Instance != "placeholder" || e.MessageID != "m1" || e.Fault != "duplicate-delivery" {
			return fmt.Errorf("recorded %+v", e)
		}
		return nil
	})

	apiJSON(t, http.MethodDelete, base+"/faults/dup", "", http.StatusNoContent, nil)
	apiJSON(t, http.MethodDelete, base+"/faults/dup", "", http.StatusNotFound, nil)
	// Another rule that would duplicate every Probe: removed before the
	// publish, so m3 and m4 arrive once each and in order.
	apiJSON(t, http.MethodPost, base+"/faults", `{"id":"all","fault":"duplicate-delivery","match":{"type":"Probe"}}`, http.StatusCreated, nil)
	apiJSON(t, http.MethodDelete, base+"/faults", "", http.StatusNoContent, nil)
	publish("m3")
	publish("m4")
	if got := []string{next(), next()}; fmt.Sprint(got) != "[m3 m4]" {
		t.Fatalf("deliveries after the rules were removed %v, want m3 m4", got)
	}
	apiJSON(t, http.MethodGet, base+"/evidence", "", http.StatusOK, &ev)
	if ev.Counts["duplicate-delivery"] != 1 {
		t.Fatalf("evidence after the heal %v", ev.Counts)
	}
}

// apiJSON calls the lab API and decodes the answer into out (when not nil).
func apiJSON(t *testing.T, method, url, body string, want int, out any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %s %s, want %d", method, url, resp.Status, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, url, err, b)
		}
	}
}

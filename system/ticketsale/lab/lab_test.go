package lab_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
	"github.com/ticketflow-lab/tflab/scenarios/sut"
	"github.com/ticketflow-lab/tflab/system/ticketsale"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/lab"
	"github.com/ticketflow-lab/tflab/system/ticketsale/lab/snapshot"
	"github.com/ticketflow-lab/tflab/system/ticketsale/lab/workload"
)

func parse(t *testing.T, src string) (*spec.Scenario, error) {
	t.Helper()
	return spec.Parse("race.yaml", []byte(src), spec.Vocabularies{ticketsale.System().Vocabulary})
}

const head = "name: race\nsystem: ticketsale\nseed: 1\ndescription: a race\n" +
	"method:\n  - {name: slow, at: 0s, duration: 1s, type: network, toxic: latency, link: orders, direction: downstream, attributes: {latency: 1}}\n" +
	"evidence: [faults.applied > 0]\n"

func TestScenarioWorkloadBlock(t *testing.T) {
	s, err := parse(t, head+"workload:\n  tickets: 200\n  prices: [5, 10, 15]\n  orderShare: 0\n  rate: 1000\n  settle: 30s\n")
	if err != nil {
		t.Fatal(err)
	}
	cfg, ok := s.Workload.Config.(*workload.Config)
	if !ok || cfg.Tickets != 200 || len(cfg.Prices) != 3 || *cfg.OrderShare != 0 || s.Workload.Settle.D() != 30*time.Second {
		t.Fatalf("decoded %#v, settle %s", s.Workload.Config, s.Workload.Settle)
	}
	if cfg.Span() != 199*time.Millisecond {
		t.Errorf("span %s", cfg.Span())
	}
	// A bad field names the file, its line and the field.
	_, err = parse(t, head+"workload:\n  tickets: 20\n  payShare: 2\n  racers: 0.5\n  wat: 1\n")
	for _, want := range []string{"race.yaml:10: workload.payShare: must be between 0 and 1", "race.yaml:11: workload.racers: want a whole number", "race.yaml:12: workload.wat: unknown field"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want %q", err, want)
		}
	}
}

func TestRecordsAndCounts(t *testing.T) {
	at := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	recs := lab.Records([]workload.Record{
		{ID: "t-1", Kind: workload.KindTicketCreate, At: at, Outcome: workload.OutcomeAccepted, Status: 201, Ticket: "t-1", Price: 5},
		{ID: "o-1", Kind: workload.KindOrderPlace, At: at, Outcome: workload.OutcomeAccepted, Status: 201, Ticket: "t-1", Order: "o-1"},
		{Kind: workload.KindOrderPlace, At: at, Outcome: workload.OutcomeRejected, Status: 400, Message: "Ticket is already reserved", Ticket: "t-1"},
		{ID: "p-1", Kind: workload.KindPayment, At: at, Outcome: workload.OutcomeUnknown, Message: "timeout", Order: "o-1"},
	})
	if len(recs) != 4 || !recs[0].Accepted || recs[0].Attrs["price"] != "5" || recs[2].Accepted ||
		recs[2].Attrs["message"] != "Ticket is already reserved" || recs[3].Accepted || recs[3].Attrs["outcome"] != "unknown" {
		t.Fatalf("records %+v", recs)
	}
	snap := snapshot.Snapshot{Tickets: []snapshot.Ticket{{ID: "t-1"}},
		Orders:  []snapshot.Order{{ID: "o-1", Status: common.OrderComplete}, {ID: "o-2", Status: common.OrderCancelled}},
		Charges: []snapshot.Charge{{ID: "ch-1"}, {ID: "ch-2"}}}
	want := map[string]int{"listed": 1, "ordered": 1, "paid": 0, "tickets": 1, "orders": 2, "complete": 1, "cancelled": 1, "charges": 2, "jobs": 0}
	// In memory (as the runner holds it) and loaded from JSON (as verify does).
	raw, _ := json.Marshal(history.Snapshot{System: history.NewSystemSnapshot(&snap)})
	var loaded history.Snapshot
	if err := json.Unmarshal(raw, &loaded); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]history.Snapshot{"held": {System: history.NewSystemSnapshot(&snap)}, "loaded": loaded} {
		got := map[string]int{}
		for _, c := range lab.Counts(&history.History{Records: recs, Snapshot: s}) {
			got[c.Name] = c.N
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: count %s = %d, want %d (all %v)", name, k, got[k], v, got)
			}
		}
	}
}

func TestWorkloadRefusesAForeignBlockAndMissingServices(t *testing.T) {
	env := sut.LoadEnv{Rand: rand.New(rand.NewPCG(1, 2)), Endpoints: sut.Endpoints{"auth": {"http://127.0.0.1:1"}}}
	if _, err := lab.Workload(context.Background(), nil, env); err == nil || !strings.Contains(err.Error(), "ticketsale's block") {
		t.Errorf("nil block: %v", err)
	}
	cfg := workload.Config{}.WithDefaults()
	if _, err := lab.Workload(context.Background(), &cfg, env); err == nil || !strings.Contains(err.Error(), "no tickets instance") {
		t.Errorf("no tickets service: %v", err)
	}
	if _, err := lab.Probe(context.Background(), env, time.Second); err == nil || !strings.Contains(err.Error(), "no orders instance") {
		t.Errorf("probe without orders: %v", err)
	}
}

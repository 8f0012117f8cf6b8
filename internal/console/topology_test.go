package console

import (
	"os"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/anomalies"
	"github.com/ticketflow-lab/tflab/scenarios/history"
)

// Each hop's edges carry the instance's msg/s from its spans over the last
// rateWindow, and each queue's edge the broker's publish rate.
func TestTopologyEdgesCarryLiveRates(t *testing.T) {
	c, _ := newTestConsole(t, os.Getpid())
	now := time.Now()
	l := c.live()
	l.mu.Lock()
	for i := range 25 { // 2.5 msg/s over 10 s
		kind := history.KindPublish
		if i%2 == 1 {
			kind = history.KindProcess
		}
		l.events = append(l.events, history.Event{Kind: kind, Service: "sla", Instance: "sla", End: now.Add(-time.Duration(i) * 300 * time.Millisecond)})
	}
	l.events = append(l.events,
		history.Event{Kind: history.KindPublish, Service: "sla", Instance: "sla", End: now.Add(-time.Hour)},         // too old
		history.Event{Kind: history.KindOther, Service: "tickets", Instance: "tickets", End: now.Add(-time.Second)}) // not a message
	l.mu.Unlock()

	rates := c.hopRates(now)
	if got := rates["sla"]; got < 2.49 || got > 2.51 {
		t.Errorf("sla at %.2f msg/s, want 2.5", got)
	}
	if got, ok := rates["tickets"]; ok {
		t.Errorf("tickets at %.2f msg/s from a span that is no message", got)
	}
	els := graph(topologyView{Hops: []hop{{ID: "sla", Service: "sla", Rate: rates["sla"]}, {ID: "tickets", Service: "tickets"}},
		Queues: []anomalies.Queue{{Name: "sla-ticket-changes", Consumers: 1, Stats: anomalies.QueueStats{Publish: anomalies.Rate{Rate: 4}}}}})
	labels, hrefs := map[string]string{}, map[string]string{}
	for _, e := range els {
		if e.Group == "edges" {
			labels[e.Data["id"]] = e.Data["label"]
		} else {
			hrefs[e.Data["id"]] = e.Data["href"]
		}
	}
	for id, want := range map[string]string{"svc-sla": "/inject?service=sla#form-process", "tp-sla": "/inject?service=sla#form-network",
		"broker": "/inject#form-broker", "q-sla-ticket-changes": ""} {
		if hrefs[id] != want {
			t.Errorf("node %s opens %q, want %q", id, hrefs[id], want)
		}
	}
	for id, want := range map[string]string{"svc-sla>tp-sla": "2.5 msg/s", "tp-sla>broker": "2.5 msg/s", "svc-tickets>tp-tickets": "",
		"broker>q-sla-ticket-changes": "4.0 msg/s"} {
		if got, ok := labels[id]; !ok || got != want {
			t.Errorf("edge %s labelled %q (present %v), want %q; edges %v", id, got, ok, want, labels)
		}
	}
}

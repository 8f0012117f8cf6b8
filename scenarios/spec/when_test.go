package spec

import (
	"strings"
	"testing"
	"time"
)

// withMethod is the valid scenario with its method replaced.
func withMethod(method string) []byte {
	start := strings.Index(valid, "method:\n")
	end := strings.Index(valid, "rollbacks:\n")
	return []byte(valid[:start] + "method:\n" + method + valid[end:])
}

func TestWhenParsesDefaultsAndPlans(t *testing.T) {
	s, err := Parse("when.yaml", withMethod(`  - name: slow
    at: 1s
    duration: 4s
    type: network
    toxic: latency
    link: tickets
    attributes: {latency: 800}
  - name: kill
    duration: 2s
    when: {service: sla, messageType: TicketQualified, count: 5}
    type: process
    op: kill
    service: tickets
  - name: after-kill
    at: 3s
    duration: 1s
    when: {step: kill, phase: healed}
    type: outage
    link: sla
  - name: pending
    duration: 1s
    when: {counter: outbox.pending, op: ">", value: 3}
    type: outage
    link: metrics
  - name: started
    when: {step: slow, delay: 2s}
    type: broker
    op: close-connections
`), testVocs)
	if err != nil {
		t.Fatal(err)
	}
	w := s.Method[1].When
	if w == nil || w.Form() != WhenSpan || w.Event != EventHandled || w.Count != 5 || w.String() != "sla handled TicketQualified ≥5" {
		t.Errorf("span when decoded as %+v (%q)", w, w.String())
	}
	if w := s.Method[4].When; w.Phase != PhaseStarted || w.String() != "slow started, +2s" {
		t.Errorf("step when defaults: %+v", w)
	}
	if w := s.Method[3].When; w.Form() != WhenCounter || !w.Holds(4) || w.Holds(3) {
		t.Errorf("counter when %+v", w)
	}
	p, err := s.Plan(PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range p.Timeline {
		if sc.Name == "after-kill" && (sc.When == nil || sc.At != 3*time.Second || sc.HealAt != 4*time.Second) {
			t.Errorf("after-kill scheduled %+v: want when kept, at 3s, heal 1s later", sc)
		}
	}
}

func TestWhenRejectsBadConditionsWithLines(t *testing.T) {
	cases := map[string]struct{ method, want string }{
		"unknown service": {`  - {duration: 1s, when: {service: billing, messageType: TicketQualified}, type: outage, link: sla}
`, `when.yaml:22: method[0].when.service: unknown service "billing"`},
		"unknown message type": {`  - {duration: 1s, when: {messageType: TicketQualifed}, type: outage, link: sla}
`, `method[0].when.messageType: unknown message type "TicketQualifed"`},
		"bad event": {`  - {duration: 1s, when: {messageType: TicketQualified, event: acked}, type: outage, link: sla}
`, `unknown event "acked"`},
		"bad count": {`  - {duration: 1s, when: {messageType: TicketQualified, count: -2}, type: outage, link: sla}
`, `want a count of at least 1, got -2`},
		"unknown step": {`  - {name: a, duration: 1s, when: {step: b}, type: outage, link: sla}
`, `method[0].when.step: no step named "b"`},
		"itself": {`  - {name: a, duration: 1s, when: {step: a}, type: outage, link: sla}
`, `step "a" waits for itself`},
		"cycle": {`  - {name: a, duration: 1s, when: {step: b, phase: healed}, type: outage, link: sla}
  - {name: b, duration: 1s, when: {step: c}, type: outage, link: tickets}
  - {name: c, duration: 1s, when: {step: a}, type: outage, link: metrics}
`, `method[0].when.step: when steps wait for each other in a cycle: a → b → c → a`},
		"bad phase": {`  - {name: a, duration: 1s, type: outage, link: sla}
  - {name: b, duration: 1s, when: {step: a, phase: ended}, type: outage, link: tickets}
`, `unknown phase "ended"`},
		"unknown counter": {`  - {duration: 1s, when: {counter: outbox.pendng, op: ">", value: 3}, type: outage, link: sla}
`, `unknown live counter "outbox.pendng" (did you mean "outbox.pending"?)`},
		"history-only counter": {`  - {duration: 1s, when: {counter: order.stale, op: ">", value: 0}, type: outage, link: sla}
`, `unknown live counter "order.stale"`},
		"bad op": {`  - {duration: 1s, when: {counter: outbox.pending, op: "!=", value: 3}, type: outage, link: sla}
`, `unknown op "!="`},
		"mixed forms": {`  - {duration: 1s, when: {messageType: TicketQualified, counter: outbox.pending, op: ">"}, type: outage, link: sla}
`, `when mixes the span and counter forms`},
		"negative delay": {`  - {duration: 1s, when: {messageType: TicketQualified, delay: -1s}, type: outage, link: sla}
`, `method[0].when.delay: must not be negative`},
		"empty": {`  - {duration: 1s, when: {}, type: outage, link: sla}
`, `when needs one of`},
		"unknown field": {`  - {duration: 1s, when: {messageType: TicketQualified, nth: 3}, type: outage, link: sla}
`, `unknown field "nth" in method[0].when`},
		"no duration": {`  - {when: {messageType: TicketQualified}, type: outage, link: sla}
`, `method[0].duration: a step keyed to when fires at a time the plan cannot know`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("when.yaml", withMethod(c.method), testVocs)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v\nwant it to contain %q", err, c.want)
			}
		})
	}
}

func TestRollbackTakesNoWhen(t *testing.T) {
	data := strings.Replace(valid, "rollbacks:\n  - type: process\n", "rollbacks:\n  - type: process\n    when: {step: reset}\n", 1)
	_, err := Parse("when.yaml", []byte(data), testVocs)
	if err == nil || !strings.Contains(err.Error(), "rollbacks[0]: a rollback runs once at the end: it takes no at, jitter, duration or when (nor until)") {
		t.Errorf("got %v", err)
	}
}

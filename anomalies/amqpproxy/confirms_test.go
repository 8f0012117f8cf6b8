package amqpproxy

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestConfirmTableIdentityPassesThrough(t *testing.T) {
	var tb confirmTable
	for range 4 {
		tb.publish(1, nil)
	}
	if _, pass, _ := tb.confirm(true, 3, true); !pass {
		t.Fatal("multiple confirm not passed through")
	}
	if _, pass, _ := tb.confirm(true, 4, false); !pass || tb.head != 0 || len(tb.q) != 0 {
		t.Fatalf("single confirm: pass %v, table %+v", pass, tb)
	}
}

func TestConfirmTableDuplicatePublish(t *testing.T) {
	var tb confirmTable
	tb.publish(1, nil) // broker 1
	tb.publish(2, nil) // broker 2, 3
	tb.publish(1, nil) // broker 4
	out, pass, _ := tb.confirm(true, 2, true)
	if pass || !slices.Equal(out, []confirmOut{{ack: true, tag: 1}}) {
		t.Fatalf("confirm up to 2: %+v pass %v", out, pass)
	}
	out, _, _ = tb.confirm(true, 4, true)
	if !slices.Equal(out, []confirmOut{{ack: true, tag: 3, multiple: true}}) {
		t.Fatalf("confirm up to 4: %+v", out)
	}
	tb.publish(2, nil) // broker 5, 6
	tb.confirm(true, 5, false)
	out, _, _ = tb.confirm(false, 6, false)
	if !slices.Equal(out, []confirmOut{{ack: false, tag: 4}}) {
		t.Fatalf("one copy nacked: %+v, want a nack", out)
	}
}

func TestConfirmTableDropKeepsLaterConfirmsIndividual(t *testing.T) {
	var tb confirmTable
	m := &mark{rule: &rule{Rule: Rule{ID: "d", Fault: DropConfirm}}}
	tb.publish(1, nil)
	tb.publish(1, m)
	tb.publish(1, nil)
	tb.publish(1, nil)
	out, _, applied := tb.confirm(true, 4, true)
	if !slices.Equal(out, []confirmOut{{ack: true, tag: 1}, {ack: true, tag: 3}, {ack: true, tag: 4}}) {
		t.Fatalf("confirms around the dropped one: %+v", out)
	}
	if len(applied) != 1 || applied[0].client != 2 || applied[0].mark != m {
		t.Fatalf("applied %+v", applied)
	}
}

func TestConfirmTableDelay(t *testing.T) {
	var tb confirmTable
	m := &mark{rule: &rule{Rule: Rule{ID: "d", Fault: DelayConfirm}}}
	tb.publish(1, m)
	tb.publish(1, nil)
	tb.publish(1, nil)
	out, _, applied := tb.confirm(true, 3, true)
	if len(applied) != 1 || !slices.Equal(out, []confirmOut{{ack: true, tag: 2}, {ack: true, tag: 3}}) {
		t.Fatalf("out %+v applied %+v", out, applied)
	}
	if !tb.releaseDelayed(1) || tb.releaseDelayed(1) {
		t.Fatal("delayed confirm released twice or not at all")
	}
	tb.publish(1, nil)
	tb.publish(1, nil)
	out, _, _ = tb.confirm(true, 5, true)
	if !slices.Equal(out, []confirmOut{{ack: true, tag: 5, multiple: true}}) {
		t.Fatalf("after release: %+v", out)
	}
}

// TestConfirmTableModel publishes with random duplicates, dropped and
// delayed confirms, lets a model broker confirm in random groups (acks and
// nacks, single and multiple), and applies the translated confirms the way
// amqp091-go does (multiple confirms everything unconfirmed up to the tag).
// Every publish must be confirmed exactly once, only after all its copies
// were, with the AND of their outcomes; dropped ones never.
func TestConfirmTableModel(t *testing.T) {
	for seed := range uint64(40) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { confirmModel(t, seed) })
	}
}

func confirmModel(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	dropM := &mark{rule: &rule{Rule: Rule{ID: "drop", Fault: DropConfirm}}}
	delayM := &mark{rule: &rule{Rule: Rule{ID: "delay", Fault: DelayConfirm}}}
	var tb confirmTable
	type pub struct {
		copies          []uint64
		action          *mark
		brokerDone      int
		ack             bool
		confirmed       bool // by the client
		clientConfirmed bool
		gotAck          bool
	}
	pubs := map[uint64]*pub{}
	clientOpen := map[uint64]bool{} // publishes the client still waits for
	ofBroker := map[uint64]uint64{}
	var lastBroker uint64
	unconfirmedBroker := map[uint64]bool{}
	var delayed []appliedConfirm

	clientApply := func(o confirmOut) {
		var covered []uint64
		for c := range clientOpen {
			if c == o.tag || (o.multiple && c <= o.tag) {
				covered = append(covered, c)
			}
		}
		if !o.multiple && !slices.Contains(covered, o.tag) {
			t.Fatalf("confirm %+v for a publish the client does not wait for", o)
		}
		for _, c := range covered {
			p := pubs[c]
			if p.brokerDone != len(p.copies) {
				t.Fatalf("confirm %+v covers publish %d before all its copies were confirmed", o, c)
			}
			if p.action != nil && p.action.rule.Fault == DropConfirm {
				t.Fatalf("confirm %+v covers publish %d whose confirm was dropped", o, c)
			}
			if o.ack != p.ack {
				t.Fatalf("confirm %+v of publish %d: ack %v, copies say %v", o, c, o.ack, p.ack)
			}
			p.clientConfirmed = true
			delete(clientOpen, c)
		}
	}
	for step := 0; step < 3000; step++ {
		switch r := rng.IntN(10); {
		case r < 4:
			copies := 1
			if rng.IntN(8) == 0 {
				copies = 2
			}
			var m *mark
			switch rng.IntN(12) {
			case 0:
				m = dropM
			case 1:
				m = delayM
			}
			c := tb.publish(copies, m)
			p := &pub{action: m, ack: true}
			for range copies {
				lastBroker++
				p.copies = append(p.copies, lastBroker)
				ofBroker[lastBroker] = c
				unconfirmedBroker[lastBroker] = true
			}
			pubs[c] = p
			clientOpen[c] = true
		case r < 5 && len(delayed) > 0:
			i := rng.IntN(len(delayed))
			d := delayed[i]
			delayed = slices.Delete(delayed, i, i+1)
			if !tb.releaseDelayed(d.client) {
				t.Fatalf("delayed confirm %d unknown", d.client)
			}
			clientApply(confirmOut{ack: d.ack, tag: d.client})
		default:
			open := slices.Sorted(maps.Keys(unconfirmedBroker))
			if len(open) == 0 {
				continue
			}
			tag := open[rng.IntN(len(open))]
			multiple := rng.IntN(2) == 0
			ack := rng.IntN(10) != 0
			for _, b := range open {
				if b == tag || (multiple && b <= tag) {
					delete(unconfirmedBroker, b)
					p := pubs[ofBroker[b]]
					p.brokerDone++
					p.ack = p.ack && ack
				}
			}
			out, pass, applied := tb.confirm(ack, tag, multiple)
			if pass {
				out = []confirmOut{{ack: ack, tag: tag, multiple: multiple}}
			}
			for _, o := range out {
				clientApply(o)
			}
			for _, a := range applied {
				p := pubs[a.client]
				if p.action != a.mark || p.brokerDone != len(p.copies) || a.ack != p.ack {
					t.Fatalf("applied %+v for publish %+v", a, p)
				}
				if a.mark.rule.Fault == DelayConfirm {
					delayed = append(delayed, a)
				}
			}
		}
	}
	// Drain: the broker confirms everything, delayed confirms go out.
	if len(unconfirmedBroker) > 0 {
		out, pass, applied := tb.confirm(true, lastBroker, true)
		for b := range unconfirmedBroker {
			pubs[ofBroker[b]].brokerDone++
		}
		if pass {
			out = []confirmOut{{ack: true, tag: lastBroker, multiple: true}}
		}
		for _, o := range out {
			clientApply(o)
		}
		for _, a := range applied {
			if a.mark.rule.Fault == DelayConfirm {
				delayed = append(delayed, a)
			}
		}
	}
	for _, d := range delayed {
		tb.releaseDelayed(d.client)
		clientApply(confirmOut{ack: d.ack, tag: d.client})
	}
	for c, p := range pubs {
		dropped := p.action != nil && p.action.rule.Fault == DropConfirm
		if p.clientConfirmed == dropped {
			t.Fatalf("publish %d (action %v): client confirmed %v", c, p.action, p.clientConfirmed)
		}
	}
}

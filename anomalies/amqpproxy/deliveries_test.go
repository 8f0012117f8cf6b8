package amqpproxy

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestDeliveryTableIdentityPassesThrough(t *testing.T) {
	var tb deliveryTable
	for b := uint64(1); b <= 5; b++ {
		if c := tb.emit(b, true, false, nil); c != b {
			t.Fatalf("client tag %d for broker tag %d", c, b)
		}
	}
	if _, pass, _ := tb.settle(settleAck, 2, 0); !pass {
		t.Fatal("single ack not passed through")
	}
	if _, pass, _ := tb.settle(settleAck, 4, 1); !pass {
		t.Fatal("multiple ack not passed through")
	}
	if tb.live != 1 || tb.q[tb.head].client != 5 {
		t.Fatalf("live %d, head %+v", tb.live, tb.q[tb.head])
	}
}

func TestDeliveryTableDuplicateSettlesOnce(t *testing.T) {
	var tb deliveryTable
	tb.emit(1, true, false, nil)
	c1 := tb.emit(2, true, true, nil)
	c2 := tb.emit(2, true, true, nil)
	tb.emit(3, true, false, nil)
	if c1 != 2 || c2 != 3 {
		t.Fatalf("copies got client tags %d, %d", c1, c2)
	}
	out, pass, _ := tb.settle(settleAck, c2, 0)
	if pass || !slices.Equal(out, []settlement{{kind: settleAck, tag: 2}}) {
		t.Fatalf("first copy: %+v pass=%v", out, pass)
	}
	out, pass, _ = tb.settle(settleAck, c1, 0)
	if pass || len(out) != 0 {
		t.Fatalf("second copy must be swallowed: %+v pass=%v", out, pass)
	}
	// Client tag 4 is broker tag 3; broker tag 1 is still outstanding.
	out, _, _ = tb.settle(settleAck, 4, 0)
	if !slices.Equal(out, []settlement{{kind: settleAck, tag: 3}}) {
		t.Fatalf("ack of 4: %+v", out)
	}
	out, _, _ = tb.settle(settleNack, 0, 3)
	if !slices.Equal(out, []settlement{{kind: settleNack, tag: 1, requeue: true}}) {
		t.Fatalf("nack all: %+v", out)
	}
}

func TestDeliveryTableReorderSplitsMultipleAck(t *testing.T) {
	var tb deliveryTable
	for b := uint64(1); b <= 4; b++ {
		tb.hold(b)
	}
	for _, b := range []uint64{3, 1, 4, 2} {
		tb.release(b)
		tb.emit(b, true, false, nil)
	}
	// Client tags 1,2 are broker tags 3,1; broker tag 2 is outstanding below 3.
	out, _, _ := tb.settle(settleAck, 2, 1)
	if !slices.Equal(out, []settlement{{kind: settleAck, tag: 1}, {kind: settleAck, tag: 3}}) {
		t.Fatalf("multiple ack of 2: %+v", out)
	}
	// Client tags 3,4 are broker tags 4,2: everything left, so one multiple ack.
	out, _, _ = tb.settle(settleAck, 4, 1)
	if !slices.Equal(out, []settlement{{kind: settleAck, tag: 4, multiple: true}}) {
		t.Fatalf("multiple ack of 4: %+v", out)
	}
	if tb.live != 0 {
		t.Fatalf("%d live deliveries left", tb.live)
	}
}

func TestDeliveryTableDropAckKeepsBrokerTagOutstanding(t *testing.T) {
	var tb deliveryTable
	m := &mark{rule: &rule{Rule: Rule{ID: "r1", Fault: DropAck}}}
	tb.emit(1, true, false, nil)
	tb.emit(2, true, false, m)
	tb.emit(3, true, false, nil)
	out, pass, dropped := tb.settle(settleAck, 2, 0)
	if pass || len(out) != 0 || len(dropped) != 1 || dropped[0] != m {
		t.Fatalf("ack of marked delivery: out %+v pass %v dropped %v", out, pass, dropped)
	}
	out, _, _ = tb.settle(settleAck, 3, 1)
	if !slices.Equal(out, []settlement{{kind: settleAck, tag: 1}, {kind: settleAck, tag: 3}}) {
		t.Fatalf("multiple ack over the dropped one: %+v", out)
	}
	// A nack of a marked delivery is not an ack: it passes.
	tb.emit(4, true, false, m)
	out, _, dropped = tb.settle(settleNack, 4, 2)
	if len(dropped) != 0 || !slices.Equal(out, []settlement{{kind: settleNack, tag: 4, requeue: true}}) {
		t.Fatalf("nack of marked delivery: %+v %v", out, dropped)
	}
}

func TestDeliveryTableUnknownTagPassesThrough(t *testing.T) {
	var tb deliveryTable
	tb.emit(1, true, true, nil)
	if _, pass, _ := tb.settle(settleAck, 9, 0); !pass {
		t.Fatal("unknown tag should reach the broker unchanged, which answers as without the proxy")
	}
}

func TestDeliveryTableNoAckDeliveriesAreNotTracked(t *testing.T) {
	var tb deliveryTable
	tb.emit(1, false, false, nil)
	tb.emit(2, true, true, nil)
	tb.emit(2, true, true, nil)
	if tb.live != 2 || len(tb.q) != 2 {
		t.Fatalf("live %d, q %d", tb.live, len(tb.q))
	}
}

func TestDeliveryTableStaysBoundedWithUnsettledGhost(t *testing.T) {
	var tb deliveryTable
	tb.emit(1, true, true, nil)
	tb.emit(1, true, true, nil)
	tb.settle(settleAck, 1, 0) // the ghost copy (client 2) is never settled
	for b := uint64(2); b < 20000; b++ {
		c := tb.emit(b, true, false, nil)
		tb.settle(settleAck, c, 0)
	}
	if n := len(tb.q) - tb.head; n > 2048 {
		t.Fatalf("table holds %d entries for 1 live delivery", n)
	}
}

// TestDeliveryTableModel drives the table with random faults and random
// client settlements and checks every translated frame against a model of
// the broker: a settled tag must be outstanding (else the broker closes the
// channel with 406), a multiple settlement settles exactly the outstanding
// tags up to it, and the broker ends up settling exactly the deliveries the
// client settled, minus dropped acks, each once.
func TestDeliveryTableModel(t *testing.T) {
	for seed := range uint64(40) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { deliveryModel(t, seed) })
	}
}

func deliveryModel(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 99))
	drop := &mark{rule: &rule{Rule: Rule{ID: "drop", Fault: DropAck}}}
	var tb deliveryTable
	var (
		nextBroker  uint64
		outstanding = map[uint64]bool{} // broker view: unsettled broker tags
		settledBy   = map[uint64]int{}  // broker tag -> times settled
		clientOf    = map[uint64]uint64{}
		clientLive  = map[uint64]bool{}
		dropped     = map[uint64]bool{} // broker tags whose ack the client sent and the proxy dropped
		marked      = map[uint64]bool{} // client tags carrying a drop mark
		held        []uint64
	)
	emit := func(b uint64, copies bool, m *mark) {
		c := tb.emit(b, true, copies, m)
		clientOf[c] = b
		clientLive[c] = true
		if m != nil {
			marked[c] = true
		}
	}
	brokerApply := func(s settlement) {
		if !outstanding[s.tag] {
			t.Fatalf("broker: %+v settles tag %d, not outstanding: 406 (table %+v)", s, s.tag, tb)
		}
		if s.multiple {
			for b := range outstanding {
				if b <= s.tag {
					delete(outstanding, b)
					settledBy[b]++
				}
			}
		} else {
			delete(outstanding, s.tag)
			settledBy[s.tag]++
		}
	}
	for step := 0; step < 3000; step++ {
		switch r := rng.IntN(10); {
		case r < 4: // a delivery arrives
			nextBroker++
			b := nextBroker
			outstanding[b] = true
			switch f := rng.IntN(10); {
			case f == 0:
				emit(b, true, nil)
				emit(b, true, nil)
			case f == 1:
				tb.hold(b)
				held = append(held, b)
			case f == 2:
				emit(b, false, drop)
			default:
				emit(b, false, nil)
			}
		case r < 5 && len(held) > 0: // held deliveries go out, shuffled
			rng.Shuffle(len(held), func(i, j int) { held[i], held[j] = held[j], held[i] })
			k := 1 + rng.IntN(len(held))
			for _, b := range held[:k] {
				tb.release(b)
				emit(b, false, nil)
			}
			held = held[k:]
		default: // the client settles
			live := slices.Sorted(maps.Keys(clientLive))
			if len(live) == 0 {
				continue
			}
			tag := live[rng.IntN(len(live))]
			multiple := rng.IntN(3) == 0
			kind := []settleKind{settleAck, settleAck, settleNack, settleReject}[rng.IntN(4)]
			if kind == settleReject {
				multiple = false
			}
			var covered []uint64
			for _, c := range live {
				if c == tag || (multiple && c <= tag) {
					covered = append(covered, c)
				}
			}
			// What the broker must see settled now.
			want := map[uint64]bool{}
			for _, c := range covered {
				b := clientOf[c]
				delete(clientLive, c)
				switch {
				case settledBy[b] > 0 || want[b]:
				case kind == settleAck && marked[c]:
					dropped[b] = true
				default:
					want[b] = true
				}
			}
			bits := byte(0)
			if multiple {
				bits = 1
			}
			before := maps.Clone(outstanding)
			out, pass, _ := tb.settle(kind, tag, bits)
			if pass {
				out = []settlement{{kind: kind, tag: tag, multiple: multiple}}
			}
			for _, s := range out {
				brokerApply(s)
			}
			got := map[uint64]bool{}
			for b := range before {
				if !outstanding[b] {
					got[b] = true
				}
			}
			if !maps.Equal(got, want) {
				t.Fatalf("step %d: client %v tag %d multiple %v: broker settled %v, want %v (frames %+v)",
					step, kind, tag, multiple, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)), out)
			}
		}
	}
	for b, n := range settledBy {
		if n != 1 {
			t.Fatalf("broker tag %d settled %d times", b, n)
		}
	}
	for b := range dropped {
		if !outstanding[b] {
			t.Fatalf("dropped ack of broker tag %d reached the broker", b)
		}
	}
}

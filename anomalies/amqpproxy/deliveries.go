package amqpproxy

import (
	"slices"
	"sort"
)

// mark tags a delivery or publish that a rule chose earlier for a fault that
// acts later: a dropped ack, a dropped or delayed confirm.
type mark struct {
	rule *rule
	info msgInfo
	// broker is the broker's delivery tag of a marked delivery.
	broker uint64
}

type settleKind uint8

const (
	settleAck settleKind = iota
	settleNack
	settleReject
)

// settlement is one basic.ack/nack/reject to send to the broker.
type settlement struct {
	kind     settleKind
	tag      uint64
	multiple bool
	requeue  bool
}

// delivery is one delivery the consumer holds under a client tag.
type delivery struct {
	client, broker uint64
	settled        bool
	// copies: the broker delivery was handed out more than once.
	copies bool
	// ghost: another copy of the same broker delivery was settled already,
	// so settling this one must not reach the broker.
	ghost   bool
	dropAck *mark
}

// deliveryTable translates the delivery tags of one channel. The broker
// numbers the channel's deliveries 1, 2, 3...; the client must see the same
// kind of sequence even when the proxy adds, holds back or reorders
// deliveries. While nothing was changed the tags are equal and frames pass
// untouched; the table still tracks the deliveries awaiting settlement so
// that a fault can start at any moment.
type deliveryTable struct {
	lastClient uint64
	// diverged: some delivery was duplicated, reordered, delayed or marked;
	// from then on settlements are translated, not passed through.
	diverged bool
	q        []delivery // sorted by client tag; q[head:] is live
	head     int
	live     int
	held     []uint64 // broker tags captured or held by the proxy, not yet handed out
	forever  []uint64 // broker tags whose ack was dropped: unsettled until the channel closes
}

// emit hands out broker delivery broker under the next client tag.
func (t *deliveryTable) emit(broker uint64, ackRequired, copies bool, drop *mark) uint64 {
	t.lastClient++
	c := t.lastClient
	if c != broker || copies || drop != nil {
		t.diverged = true
	}
	if ackRequired {
		t.q = append(t.q, delivery{client: c, broker: broker, copies: copies, dropAck: drop})
		t.live++
	}
	return c
}

func (t *deliveryTable) hold(broker uint64) { t.held = append(t.held, broker) }

func (t *deliveryTable) release(broker uint64) {
	if i := slices.Index(t.held, broker); i >= 0 {
		t.held = slices.Delete(t.held, i, i+1)
	}
}

// recover forgets the unsettled deliveries: basic.recover makes the broker
// redeliver them under new tags.
func (t *deliveryTable) recover() {
	t.q, t.head, t.live, t.forever = t.q[:0], 0, 0, nil
}

// settle translates a client basic.ack/nack/reject. passthrough means the
// client's frame is correct as it is; otherwise out lists the frames to
// send (possibly none) and dropped the acks swallowed by a drop-ack fault.
func (t *deliveryTable) settle(kind settleKind, tag uint64, bits byte) (out []settlement, passthrough bool, dropped []*mark) {
	multiple := kind != settleReject && bits&1 != 0
	requeue := (kind == settleNack && bits&2 != 0) || (kind == settleReject && bits&1 != 0)
	if !t.diverged && len(t.held) == 0 && len(t.forever) == 0 {
		t.mark(tag, multiple, nil)
		return nil, true, nil
	}
	var sel []int
	t.mark(tag, multiple, &sel)
	if len(sel) == 0 {
		// Unknown tag: the broker will answer the client's mistake as it
		// would without the proxy.
		return nil, true, nil
	}
	var brokers []uint64
	for _, i := range sel {
		d := &t.q[i]
		switch {
		case d.ghost:
		case kind == settleAck && d.dropAck != nil:
			t.forever = append(t.forever, d.broker)
			dropped = append(dropped, d.dropAck)
		default:
			brokers = append(brokers, d.broker)
			if d.copies {
				// Every other copy, including one settled by this same
				// frame and not processed yet, must not reach the broker.
				for j := t.head; j < len(t.q); j++ {
					if o := &t.q[j]; j != i && o.broker == d.broker {
						o.ghost = true
					}
				}
			}
		}
	}
	t.compact()
	if len(brokers) == 0 {
		return nil, false, dropped
	}
	slices.Sort(brokers)
	top := brokers[len(brokers)-1]
	if kind != settleReject && len(brokers) > 1 && t.onlyOutstandingUpTo(top, len(brokers)) {
		return []settlement{{kind: kind, tag: top, multiple: true, requeue: requeue}}, false, dropped
	}
	for _, b := range brokers {
		out = append(out, settlement{kind: kind, tag: b, requeue: requeue})
	}
	return out, false, dropped
}

// mark settles the client's deliveries named by tag (all up to tag when
// multiple; all when multiple and tag is 0) and collects their indexes.
func (t *deliveryTable) mark(tag uint64, multiple bool, sel *[]int) {
	if multiple {
		for i := t.head; i < len(t.q); i++ {
			d := &t.q[i]
			if tag != 0 && d.client > tag {
				break
			}
			if !d.settled {
				d.settled = true
				t.live--
				if sel != nil {
					*sel = append(*sel, i)
				}
			}
		}
	} else {
		live := t.q[t.head:]
		j := sort.Search(len(live), func(k int) bool { return live[k].client >= tag })
		if j < len(live) && live[j].client == tag && !live[j].settled {
			live[j].settled = true
			t.live--
			if sel != nil {
				*sel = append(*sel, t.head+j)
			}
		}
	}
	if sel == nil {
		t.compact()
	}
}

// onlyOutstandingUpTo reports whether the n broker tags being settled are
// all the broker still has outstanding up to top, so that one multiple
// settlement says exactly the same. Ghost copies are settled at the broker
// already; held and forever-unacked deliveries are outstanding.
func (t *deliveryTable) onlyOutstandingUpTo(top uint64, n int) bool {
	for i := t.head; i < len(t.q); i++ {
		if d := &t.q[i]; !d.settled && !d.ghost && d.broker < top {
			return false
		}
	}
	for _, b := range t.held {
		if b < top {
			return false
		}
	}
	for _, b := range t.forever {
		if b < top {
			return false
		}
	}
	return n > 0
}

// compact drops settled deliveries from the head and, when unsettled ghosts
// pin the head, squeezes settled entries out of the middle.
func (t *deliveryTable) compact() {
	for t.head < len(t.q) && t.q[t.head].settled {
		t.head++
	}
	if t.head == len(t.q) {
		t.q, t.head = t.q[:0], 0
		return
	}
	if n := len(t.q) - t.head; n > 1024 && n > 4*t.live {
		kept := t.q[:0]
		for _, d := range t.q[t.head:] {
			if !d.settled {
				kept = append(kept, d)
			}
		}
		t.q, t.head = kept, 0
	} else if t.head > 1024 && t.head > len(t.q)/2 {
		t.q = append(t.q[:0], t.q[t.head:]...)
		t.head = 0
	}
}

package amqpproxy

// confirmOut is one basic.ack/nack to send to the publisher.
type confirmOut struct {
	ack      bool
	tag      uint64
	multiple bool
}

// appliedConfirm is a confirm a drop-confirm or delay-confirm fault took.
type appliedConfirm struct {
	client uint64
	ack    bool
	mark   *mark
}

// publish is one publish in confirm mode, awaiting its confirm.
type publish struct {
	client uint64
	first  uint64 // broker sequence number of the first copy
	n      uint8  // copies sent
	done   uint8  // bit k: copy k confirmed
	nacked bool
	settle bool // confirmed towards the client side of the table
	action *mark
}

// confirmTable translates publisher-confirm sequence numbers of one channel.
// The broker numbers the channel's publishes 1, 2, 3... after
// confirm.select; so does the client. They stay equal until the proxy sends
// a publish twice or takes a confirm; from then on the proxy rewrites the
// broker's confirms so that the client sees exactly one confirm per publish
// it made, and never a multiple confirm that would cover a publish whose
// confirm was dropped or is delayed.
type confirmTable struct {
	on         bool
	lastClient uint64
	lastBroker uint64
	diverged   bool
	q          []publish
	head       int
	// floor is the smallest client sequence number whose confirm was
	// dropped (0: none); the client waits for it forever.
	floor   uint64
	delayed []uint64
}

// publish records a publish sent as copies copies and returns its client
// sequence number.
func (t *confirmTable) publish(copies int, action *mark) uint64 {
	t.lastClient++
	p := publish{client: t.lastClient, first: t.lastBroker + 1, n: uint8(copies), action: action}
	t.lastBroker += uint64(copies)
	if copies != 1 || action != nil || p.first != p.client {
		t.diverged = true
	}
	t.q = append(t.q, p)
	return p.client
}

// confirm translates a broker basic.ack (ack) or basic.nack.
func (t *confirmTable) confirm(ack bool, tag uint64, multiple bool) (out []confirmOut, passthrough bool, applied []appliedConfirm) {
	if !t.diverged {
		for i := t.head; i < len(t.q); i++ {
			p := &t.q[i]
			if p.client > tag {
				break
			}
			if multiple || p.client == tag {
				p.settle = true
			}
		}
		t.compact()
		return nil, true, nil
	}
	type done struct {
		client uint64
		ack    bool
	}
	var complete []done
	for i := t.head; i < len(t.q); i++ {
		p := &t.q[i]
		if p.first > tag {
			break
		}
		if p.settle {
			continue
		}
		for k := range p.n {
			b := p.first + uint64(k)
			if p.done&(1<<k) != 0 || !(b == tag || (multiple && b <= tag)) {
				continue
			}
			p.done |= 1 << k
			if !ack {
				p.nacked = true
			}
		}
		if p.done == 1<<p.n-1 {
			p.settle = true
			switch {
			case p.action == nil:
				complete = append(complete, done{p.client, !p.nacked})
			case p.action.rule.Fault == DropConfirm:
				if t.floor == 0 || p.client < t.floor {
					t.floor = p.client
				}
				applied = append(applied, appliedConfirm{p.client, !p.nacked, p.action})
			default:
				t.delayed = append(t.delayed, p.client)
				applied = append(applied, appliedConfirm{p.client, !p.nacked, p.action})
			}
		}
	}
	t.compact()
	if len(complete) == 0 {
		return nil, false, applied
	}
	// low is the smallest sequence number the client still waits for that
	// is not confirmed now: a multiple confirm must stay below it.
	low := ^uint64(0)
	if t.head < len(t.q) {
		low = t.q[t.head].client
	}
	if t.floor != 0 {
		low = min(low, t.floor)
	}
	for _, c := range t.delayed {
		low = min(low, c)
	}
	n := 0
	for n < len(complete) && complete[n].client < low && complete[n].ack == complete[0].ack {
		n++
	}
	if n >= 2 {
		out = append(out, confirmOut{ack: complete[0].ack, tag: complete[n-1].client, multiple: true})
		complete = complete[n:]
	}
	for _, c := range complete {
		out = append(out, confirmOut{ack: c.ack, tag: c.client})
	}
	return out, false, applied
}

// releaseDelayed forgets a delayed confirm that is being sent now.
func (t *confirmTable) releaseDelayed(client uint64) bool {
	for i, c := range t.delayed {
		if c == client {
			t.delayed = append(t.delayed[:i], t.delayed[i+1:]...)
			return true
		}
	}
	return false
}

func (t *confirmTable) compact() {
	for t.head < len(t.q) && t.q[t.head].settle {
		t.head++
	}
	if t.head == len(t.q) {
		t.q, t.head = t.q[:0], 0
	} else if t.head > 1024 && t.head > len(t.q)/2 {
		t.q = append(t.q[:0], t.q[t.head:]...)
		t.head = 0
	}
}

package freeport

import (
	"net"
	"strconv"
	"testing"
)

func TestGetHandsOutDistinctBindablePortsBelowTheEphemeralRange(t *testing.T) {
	seen := map[int]bool{}
	for range 300 {
		p, err := Get()
		if err != nil {
			t.Fatal(err)
		}
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
		if p < low || p >= ephemeralLow() {
			t.Fatalf("port %d outside [%d, %d)", p, low, ephemeralLow())
		}
	}
	// A port handed out is bindable by its user.
	p, err := Get()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		t.Fatalf("port %d not bindable: %v", p, err)
	}
	l.Close()
}

func TestGetSkipsPortsInUse(t *testing.T) {
	// Hold every port but a handful of the range's first thousand; Get must
	// still find a free one and never return a held one.
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	busy := map[int]bool{}
	for p := low; p < low+50; p++ {
		if l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p))); err == nil {
			held = append(held, l)
			busy[p] = true
		}
	}
	for range 100 {
		p, err := Get()
		if err != nil {
			t.Fatal(err)
		}
		if busy[p] {
			t.Fatalf("got port %d, which is held", p)
		}
	}
}

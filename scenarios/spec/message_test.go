package spec

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The reorder step of the valid scenario, with a prefetch for prefetch-1
// consumers: accepted, rejected on other faults and below the window.
func TestMessagePrefetch(t *testing.T) {
	step := "    window: 4\n"
	for _, c := range []struct{ edit, want string }{
		{step + "    prefetch: 10\n", ""},
		{step + "    prefetch: 3\n", "prefetch 3 below the window 4"},
		{step + "    prefetch: 70000\n", "want 1 to 65535"},
	} {
		src := strings.Replace(valid, step, c.edit, 1)
		s, err := Parse("x.yaml", []byte(src), testVocs)
		switch {
		case c.want == "" && err != nil:
			t.Fatalf("%q: %v", c.edit, err)
		case c.want == "":
			a := s.Method[3].Action.(*MessageAction)
			if a.Prefetch != 10 || a.Params()["prefetch"] != "10" {
				t.Fatalf("prefetch %d, params %v", a.Prefetch, a.Params())
			}
		case err == nil || !strings.Contains(err.Error(), c.want):
			t.Fatalf("%q: error %v, want %q", c.edit, err, c.want)
		}
	}
	if _, err := Parse("x.yaml", []byte(strings.Replace(valid, step, step+"    delay: 50ms\n", 1)), testVocs); err != nil {
		t.Fatalf("reorder with a window wait: %v", err)
	}
	src := strings.Replace(valid, "    fault: reorder\n", "    fault: duplicate-delivery\n    prefetch: 10\n", 1)
	src = strings.Replace(src, step, "", 1)
	if _, err := Parse("x.yaml", []byte(src), testVocs); err == nil || !strings.Contains(err.Error(), "only reorder takes a prefetch") {
		t.Fatalf("prefetch on duplicate-delivery: %v", err)
	}
}

// The reorder step of the valid scenario turned into drop-ack: its ack
// timeout defaults to 10 s, 0 means never, and a negative one or one on
// another fault is an error at its line.
func TestMessageAckTimeout(t *testing.T) {
	step := "    fault: reorder\n    service: sla\n    window: 4\n"
	dropAck := "    fault: drop-ack\n    service: sla\n"
	for _, c := range []struct {
		edit, want, describe string
		timeout              time.Duration
	}{
		{dropAck, "", "ack timeout 10s", 10 * time.Second},
		{dropAck + "    ackTimeout: 0\n", "", "no ack timeout", 0},
		{dropAck + "    ackTimeout: 2s\n", "", "ack timeout 2s", 2 * time.Second},
		{dropAck + "    ackTimeout: -1s\n", "ackTimeout -1s: must not be negative", "", 0},
		{step + "    ackTimeout: 2s\n", "only drop-ack takes an ackTimeout", "", 0},
	} {
		src := strings.Replace(valid, step, c.edit, 1)
		s, err := Parse("x.yaml", []byte(src), testVocs)
		if c.want != "" {
			line := strings.Count(src[:strings.Index(src, "ackTimeout")], "\n") + 1
			if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("x.yaml:%d: ", line)) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%q: error %v, want x.yaml:%d: ...%s", c.edit, err, line, c.want)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", c.edit, err)
		}
		a := s.Method[3].Action.(*MessageAction)
		if got := a.EffectiveAckTimeout().D(); got != c.timeout {
			t.Errorf("%q: ack timeout %s, want %s", c.edit, got, c.timeout)
		}
		if got := a.Params()["ackTimeout"]; got != c.timeout.String() {
			t.Errorf("%q: params ackTimeout %q, want %s", c.edit, got, c.timeout)
		}
		if d := a.Describe(); !strings.HasSuffix(d, c.describe) {
			t.Errorf("%q: describe %q, want it to end in %q", c.edit, d, c.describe)
		}
	}
}

// A message fault under its former name is an error at its line that names
// the current one.
func TestMessageFaultOldSpelling(t *testing.T) {
	for old, now := range map[string]string{"reorder-deliveries": "reorder", "close-channel": "channel-close"} {
		src := strings.Replace(valid, "    fault: reorder\n", "    fault: "+old+"\n", 1)
		line := strings.Count(src[:strings.Index(src, old)], "\n") + 1
		_, err := Parse("x.yaml", []byte(src), testVocs)
		want := fmt.Sprintf("x.yaml:%d: method[3].fault: message fault %q was renamed: spell it %q", line, old, now)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %s", old, err, want)
		}
	}
}

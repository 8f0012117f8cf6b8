package spec

import (
	"strings"
	"testing"
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
		s, err := Parse("x.yaml", []byte(src))
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
	if _, err := Parse("x.yaml", []byte(strings.Replace(valid, step, step+"    delay: 50ms\n", 1))); err != nil {
		t.Fatalf("reorder with a window wait: %v", err)
	}
	src := strings.Replace(valid, "    fault: reorder\n", "    fault: duplicate-delivery\n    prefetch: 10\n", 1)
	src = strings.Replace(src, step, "", 1)
	if _, err := Parse("x.yaml", []byte(src)); err == nil || !strings.Contains(err.Error(), "only reorder takes a prefetch") {
		t.Fatalf("prefetch on duplicate-delivery: %v", err)
	}
}

package check

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ticketflow-lab/tflab/scenarios/history"
)

type rowsByID map[string]int

type testSnapshot struct {
	Rows []string `json:"rows"`
}

// Memo builds once per view and type, also when checkers ask at once, and
// SystemSnapshot decodes a loaded (JSON) snapshot once.
func TestViewMemoBuildsOnceUnderConcurrency(t *testing.T) {
	h := &history.History{}
	if err := h.Snapshot.System.UnmarshalJSON([]byte(`{"rows":["a","b"]}`)); err != nil {
		t.Fatal(err)
	}
	v := NewView(h)
	var builds atomic.Int32
	var wg sync.WaitGroup
	snaps := make([]*testSnapshot, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := Memo(v, func(*View) rowsByID { builds.Add(1); return rowsByID{"a": 1} })
			if m["a"] != 1 {
				t.Error("memo lost its value")
			}
			s, err := SystemSnapshot[testSnapshot](v)
			if err != nil {
				t.Error(err)
			}
			snaps[i] = s
		}()
	}
	wg.Wait()
	if n := builds.Load(); n != 1 {
		t.Errorf("built %d times, want once", n)
	}
	for _, s := range snaps {
		if s == nil || s != snaps[0] || len(s.Rows) != 2 {
			t.Fatalf("snapshots %v: want one decoded value shared", snaps)
		}
	}
	if s, err := SystemSnapshot[testSnapshot](NewView(&history.History{})); s != nil || err != nil {
		t.Errorf("no snapshot: %v %v", s, err)
	}
}

// Views of one evaluation over other index copies share the memo.
func TestViewWithSharesTheMemo(t *testing.T) {
	v := NewView(&history.History{})
	own := *v.x
	w := v.with(&own)
	builds := 0
	build := func(*View) rowsByID { builds++; return rowsByID{} }
	Memo(v, build)
	Memo(w, build)
	if builds != 1 || w.x == v.x {
		t.Fatalf("built %d times (want 1); same index %v", builds, w.x == v.x)
	}
}

package history

import (
	"encoding/json"
	"sync"
	"testing"
)

type testSnap struct {
	Rows []struct {
		ID string `json:"id"`
	} `json:"rows"`
}

type otherSnap struct {
	Rows []map[string]string `json:"rows"`
}

func TestLoadedSnapshotDecodesOnceAndDropsTheJSON(t *testing.T) {
	const doc = `{"rows": [{"id": "a"}, {"id": "b\u00e9"}]}`
	var s SystemSnapshot
	if err := json.Unmarshal([]byte(doc), &s); err != nil {
		t.Fatal(err)
	}
	if s.IsZero() {
		t.Fatal("a loaded snapshot reports itself empty")
	}
	before, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	got := make([]*testSnap, 8)
	for i := range got {
		wg.Go(func() {
			v, err := SnapshotAs[testSnap](&s)
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		})
	}
	wg.Wait()
	for _, v := range got[1:] {
		if v != got[0] {
			t.Fatal("concurrent SnapshotAs calls decoded the snapshot more than once")
		}
	}
	if v := got[0]; len(v.Rows) != 2 || v.Rows[1].ID != "bé" {
		t.Fatalf("decoded %+v", v)
	}
	if l := s.v.(*loadedSnapshot); l.raw != nil {
		t.Error("the JSON is still held after decoding")
	}
	after, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	if json.Unmarshal(before, &a) != nil || json.Unmarshal(after, &b) != nil || !jsonEqual(a, b) {
		t.Errorf("marshalled after decoding %s, before %s", after, before)
	}
	o, err := SnapshotAs[otherSnap](&s) // another type: decoded from the value's JSON
	if err != nil || len(o.Rows) != 2 || o.Rows[0]["id"] != "a" {
		t.Fatalf("as another type: %+v, %v", o, err)
	}
}

func TestNullSnapshotIsEmpty(t *testing.T) {
	var s SystemSnapshot
	if err := json.Unmarshal([]byte(`null`), &s); err != nil {
		t.Fatal(err)
	}
	if !s.IsZero() {
		t.Error("a null snapshot is not empty")
	}
	if v, err := SnapshotAs[testSnap](&s); v != nil || err != nil {
		t.Errorf("SnapshotAs of null = %v, %v", v, err)
	}
	if b, err := json.Marshal(s); err != nil || string(b) != "null" {
		t.Errorf("marshalled %s, %v", b, err)
	}
	bad := SystemSnapshot{}
	if err := json.Unmarshal([]byte(`{"rows": 3}`), &bad); err != nil {
		t.Fatal(err)
	}
	if _, err := SnapshotAs[testSnap](&bad); err == nil {
		t.Error("a snapshot of the wrong shape decoded without an error")
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

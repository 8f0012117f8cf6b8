package history

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

// skipValue reads exactly one value, whatever its strings hold, and says
// which one is null; unbalanced or unterminated values are errors.
func TestSkipValue(t *testing.T) {
	for _, c := range []struct {
		in, rest string
		null     bool
	}{
		{in: `: {"a": [1, {"b": "}]\"{["}], "c": "\\"}`, rest: `, "x": 1}`},
		{in: ` :  [[], {}, "\u005d", -1.5e3, true, null]`, rest: `]`},
		{in: `:null`, rest: `}`, null: true},
		{in: ":\n\tnull", rest: "\n}", null: true},
		{in: `: "a]}\\"`, rest: `,`},
		{in: `: 12`, rest: `}`},
		{in: `: nullx`, rest: `}`},
		{in: `: null`, null: true},
	} {
		r := bufio.NewReaderSize(strings.NewReader(c.in+c.rest), 16) // values across buffer refills
		n, null, err := skipValue(r)
		rest, _ := r.Peek(r.Buffered())
		if err != nil || n != int64(len(c.in)) || null != c.null || string(rest) != c.rest[:min(len(rest), len(c.rest))] {
			t.Errorf("skipValue(%q) = %d, %v, %v, rest %q; want %d, %v, rest %q", c.in+c.rest, n, null, err, rest, len(c.in), c.null, c.rest)
		}
	}
	for _, in := range []string{`: {"a": [1}`, `: {"a": 1`, `: "abc`, `: ]`, `:`, `: {"a": "\"}`} {
		if n, _, err := skipValue(bufio.NewReaderSize(strings.NewReader(in), 16)); err == nil {
			t.Errorf("skipValue(%q) read %d bytes without an error", in, n)
		}
	}
}

// LoadHeader reads past a snapshot whose strings hold brackets and quotes
// to the fields after it, as encoding/json does, and a broken snapshot is
// an error.
func TestLoadHeaderSkipsTheSnapshot(t *testing.T) {
	run := `{"meta": {"schemaVersion": 2, "scenario": "s"}, "workload": [{"kind": "k", "id": "1"}],
	  "snapshot": {"at": "2026-01-05T10:00:00Z", "system": {"t": ["}]\"{[", {"x": "\\"}], "n": null}, "deadLetters": []},
	  "counters": {"deliveries": 2}, "probes": [{"phase": "before", "name": "p", "ok": true}]}`
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, RunFile), []byte(run), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := LoadHeader(dir)
	if err != nil {
		t.Fatal(err)
	}
	var want History
	if err := json.Unmarshal([]byte(run), &want); err != nil {
		t.Fatal(err)
	}
	type sys struct {
		T []any `json:"t"`
		N any   `json:"n"`
	}
	gs, err1 := SnapshotAs[sys](&got.Snapshot.System)
	ws, err2 := SnapshotAs[sys](&want.Snapshot.System)
	if err1 != nil || err2 != nil || !reflect.DeepEqual(gs, ws) || len(gs.T) != 2 {
		t.Fatalf("snapshot %+v (%v), encoding/json's %+v (%v)", gs, err1, ws, err2)
	}
	got.Snapshot.System, want.Snapshot.System = SystemSnapshot{}, SystemSnapshot{}
	if !reflect.DeepEqual(*got, want) {
		t.Fatalf("LoadHeader:\n%+v\nencoding/json:\n%+v", *got, want)
	}
	broken := strings.Replace(run, `{"x": "\\"}]`, `{"x": "\\"}}`, 1)
	if err := os.WriteFile(filepath.Join(dir, RunFile), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	if h, err := LoadHeader(dir); err == nil {
		t.Errorf("a run file with a broken snapshot loaded: %+v", h)
	}
}

// internBytes returns the table's one copy of each string, whichever cache
// slot strings share, and never the caller's bytes.
func TestInternBytesByContent(t *testing.T) {
	var tb EventTable
	buf := []byte{}
	copies := map[string]string{}
	for round := range 3 {
		for i := range 3 * seenSize {
			buf = fmt.Appendf(buf[:0], "svc-%d.queue-%d", i%50, i)
			if i%3 == 0 {
				buf = fmt.Appendf(buf[:0], "k%d", i%7)
			}
			got := tb.internBytes(buf)
			if got != string(buf) || unsafe.StringData(got) == unsafe.SliceData(buf) {
				t.Fatalf("internBytes(%q) = %q", buf, got)
			}
			if c, ok := copies[got]; ok && unsafe.StringData(c) != unsafe.StringData(got) {
				t.Fatalf("round %d: two copies of %q", round, got)
			}
			copies[got] = got
		}
	}
	if len(tb.strs)-1 != len(copies) {
		t.Errorf("the table holds %d strings, %d distinct were interned", len(tb.strs)-1, len(copies))
	}
}

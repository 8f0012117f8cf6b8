package spanfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func line(t testing.TB, span string, name string) string {
	t.Helper()
	return `{"v":1,"trace_id":"` + tidHex + `","span_id":"` + span + `","name":"` + name + `","start":1,"end":2}` + "\n"
}

func TestWalkSkipsAndReportsBadLines(t *testing.T) {
	dir := t.TempDir()
	good := line(t, "0000000000000001", "one")
	torn := line(t, "0000000000000004", "torn")
	a := filepath.Join(dir, "a.jsonl")
	content := good + // 1
		"\n" + // 2 blank
		"   \r\n" + // 3 blank
		"not json\n" + // 4 bad
		strings.Replace(line(t, "0000000000000002", "v2"), `"v":1`, `"v":2`, 1) + // 5 bad (schema)
		line(t, "0000000000000003", "three") + // 6
		torn[:40] + "\n" + // 7 torn mid-file (terminated by a restarted writer)
		`{"v":1,` + strings.Repeat(" ", MaxLineBytes) + "}\n" + // 8 too long
		line(t, "0000000000000005", "five") + // 9
		torn[:len(torn)-3] // 10 torn, unterminated
	if err := os.WriteFile(a, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	b := filepath.Join(dir, "b.jsonl")
	if err := os.WriteFile(b, []byte(strings.TrimSuffix(line(t, "0000000000000006", "complete but unterminated"), "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	var names []string
	var where []string
	st, err := Walk([]string{a, b}, func(r *Record, pos Position) error {
		names = append(names, r.Name)
		where = append(where, pos.String())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"one", "three", "five", "complete but unterminated"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("names = %q, want %q", names, want)
	}
	if want := []string{a + ":1", a + ":6", a + ":9", b + ":1"}; !reflect.DeepEqual(where, want) {
		t.Fatalf("positions = %q, want %q", where, want)
	}
	if st.Files != 2 || st.Lines != 9 || st.Spans != 4 || st.Torn != 2 || st.Bad != 3 || st.Bytes != int64(len(content))+int64(len(line(t, "0000000000000006", "complete but unterminated"))-1)-int64(MaxLineBytes+9) {
		t.Errorf("stats = %+v (content %d bytes)", st, len(content))
	}
	type prob struct {
		line int64
		torn bool
	}
	var probs []prob
	for _, p := range st.Problems {
		probs = append(probs, prob{p.Line, p.Torn})
		if p.File != a || p.Err == nil || !strings.Contains(p.String(), fmt.Sprintf("%s:%d", a, p.Line)) {
			t.Errorf("problem %v", p)
		}
	}
	if want := []prob{{4, false}, {5, false}, {7, true}, {8, false}, {10, true}}; !reflect.DeepEqual(probs, want) {
		t.Fatalf("problems = %+v, want %+v", probs, want)
	}
}

func TestWalkStopsOnCallbackErrorAndMissingFile(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.jsonl")
	if err := os.WriteFile(a, []byte(line(t, "0000000000000001", "x")+line(t, "0000000000000002", "y")), 0o644); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	calls := 0
	if _, err := Walk([]string{a}, func(*Record, Position) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("err = %v after %d calls, want stop after 1", err, calls)
	}
	if _, err := Walk([]string{a, filepath.Join(dir, "missing.jsonl")}, func(*Record, Position) error { return nil }); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: err = %v", err)
	}
}

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"b.jsonl", "a.jsonl", "sub/c.jsonl", "notes.txt", "d.jsonl.bak"} {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Files(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl"), filepath.Join(dir, "sub", "c.jsonl")}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Files = %q, want %q", got, want)
	}
	if _, err := Files(filepath.Join(dir, "nope")); err == nil {
		t.Fatal("missing directory accepted")
	}
}

func TestSynthesize(t *testing.T) {
	dir1, dir2 := t.TempDir(), t.TempDir()
	st, err := Synthesize(dir1, 5000, 42)
	if err != nil {
		t.Fatal(err)
	}
	if st.Spans != 5000 || st.Traces < 400 || len(st.Files) != 7 {
		t.Fatalf("stats %+v", st)
	}
	if _, err := Synthesize(dir2, 5000, 42); err != nil {
		t.Fatal(err)
	}
	files, err := Files(filepath.Join(dir1, "traces"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		a, _ := os.ReadFile(f)
		b, _ := os.ReadFile(filepath.Join(dir2, "traces", filepath.Base(f)))
		if string(a) != string(b) {
			t.Fatalf("%s differs between two runs with the same seed", filepath.Base(f))
		}
	}
	ws, err := Walk(files, func(r *Record, pos Position) error {
		if r.Service == "" || r.Instance == "" || r.End < r.Start {
			return fmt.Errorf("%s: bad synthetic span %+v", pos, r)
		}
		return nil
	})
	if err != nil || ws.Spans != 5000 || ws.Torn+ws.Bad != 0 {
		t.Fatalf("walk: %v %+v", err, ws)
	}
	dir3 := t.TempDir()
	if _, err := Synthesize(dir3, 5000, 43); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(files[0])
	c, _ := os.ReadFile(filepath.Join(dir3, "traces", filepath.Base(files[0])))
	if string(a) == string(c) {
		t.Fatal("seeds 42 and 43 synthesized the same file")
	}
}

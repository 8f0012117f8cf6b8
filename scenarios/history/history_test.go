package history_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/synth"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/tfhistory"
	"github.com/ticketflow-lab/tflab/tracing/otelamqp"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	res := synth.New(synth.Config{Seed: 3, Inquiries: 5})
	h := res.History
	h.Meta.Evidence = []history.Requirement{{Counter: "dedup.skips", Op: ">", Value: 0}}
	h.Meta.Limits = history.Limits{MaxAttempts: 4, ClockTolerance: history.Duration(1500 * time.Millisecond)}
	h.Faults = []history.Fault{{Name: "cut", Type: "outage", Target: "tickets", PlannedAt: history.Duration(2 * time.Second),
		Started: h.Meta.Start.Add(2 * time.Second), Healed: h.Meta.Start.Add(5 * time.Second)}}
	h.Counters["network.bytes-cut"] = 512
	dir := t.TempDir()
	if err := history.Save(dir, h); err != nil {
		t.Fatal(err)
	}
	got, err := history.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Events) != len(h.Events) || len(got.Events) == 0 {
		t.Fatalf("events: got %d, want %d", len(got.Events), len(h.Events))
	}
	// Times lose their monotonic reading and location through JSON; compare encodings.
	if !sameJSON(t, got, h) || !sameJSON(t, got.Events, h.Events) {
		t.Fatal("history changed through Save/Load")
	}
}

func sameJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ja, jb) {
		t.Logf("got  %.300s\nwant %.300s", ja, jb)
		return false
	}
	return true
}

func TestLoadRejectsOtherSchemaVersion(t *testing.T) {
	h := synth.New(synth.Config{Seed: 1, Inquiries: 1}).History
	dir := t.TempDir()
	if err := history.Save(dir, h); err != nil {
		t.Fatal(err)
	}
	// Rewrite the run file by hand with another version.
	b, _ := json.Marshal(struct {
		Meta map[string]any `json:"meta"`
	}{map[string]any{"schemaVersion": 99}})
	if err := writeFile(dir+"/"+history.RunFile, b); err != nil {
		t.Fatal(err)
	}
	if _, err := history.Load(dir); err == nil || !strings.Contains(err.Error(), "schema version 99") {
		t.Fatalf("Load = %v, want a schema version error", err)
	}
}

func TestReadEventsNamesTheBadLine(t *testing.T) {
	in := `{"kind":"publish","traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708"}
{"kind":"process","traceId":"zz"}
`
	_, err := history.ReadEvents(strings.NewReader(in))
	if err == nil || !strings.Contains(err.Error(), "event 2") {
		t.Fatalf("ReadEvents = %v, want an error naming event 2", err)
	}
}

func TestIDs(t *testing.T) {
	tr, err := history.ParseTraceID("4bf92f3577b34da6a3ce929d0e0e4736")
	if err != nil || tr.String() != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Fatalf("trace id %v %v", tr, err)
	}
	if _, err := history.ParseSpanID("00f067aa0ba902"); err == nil {
		t.Fatal("short span id accepted")
	}
	if id, err := history.ParseSpanID(""); err != nil || !id.IsZero() {
		t.Fatal("empty span id is not zero")
	}
}

func TestRequirement(t *testing.T) {
	cases := []struct {
		in   string
		want history.Requirement
		obs  float64
		met  bool
	}{
		{"dedup.skips > 0", history.Requirement{Counter: "dedup.skips", Op: ">", Value: 0}, 1, true},
		{"dead-lettered>=2", history.Requirement{Counter: "dead-lettered", Op: ">=", Value: 2}, 1, false},
		{"latency.fault.max-ms >= 150.5", history.Requirement{Counter: "latency.fault.max-ms", Op: ">=", Value: 150.5}, 151, true},
		{"order.stale == 0", history.Requirement{Counter: "order.stale", Op: "==", Value: 0}, 0, true},
	}
	for _, tc := range cases {
		got, err := history.ParseRequirement(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseRequirement(%q) = %+v, %v", tc.in, got, err)
			continue
		}
		if got.Met(tc.obs) != tc.met {
			t.Errorf("%q Met(%v) = %t", tc.in, tc.obs, !tc.met)
		}
	}
	for _, bad := range []string{"dedup.skips", "> 0", "dedup.skips > many"} {
		if _, err := history.ParseRequirement(bad); err == nil {
			t.Errorf("ParseRequirement(%q) accepted", bad)
		}
	}
}

// TestEventFieldsMapToSpanAttributes keeps the history model 1:1 with the
// span attributes that tracing/otelamqp defines.
func TestEventFieldsMapToSpanAttributes(t *testing.T) {
	keys := []string{
		string(otelamqp.LabService), string(otelamqp.LabInstance), string(otelamqp.LabMessageType),
		string(otelamqp.LabAggregateID), string(otelamqp.LabAggregateVer), string(otelamqp.LabCausationID),
		string(otelamqp.LabDedupOutcome), string(otelamqp.LabOrderOutcome), string(otelamqp.LabRedelivered),
		string(otelamqp.LabAttempt), string(otelamqp.LabEffectKeys), string(otelamqp.LabOutcome),
		string(otelamqp.LabPublishVia), string(otelamqp.LabConfirmOutcome), string(otelamqp.LabRepublish),
		string(otelamqp.MessagingMessageID), string(otelamqp.MessagingConversationID),
		string(otelamqp.MessagingDestinationName), string(otelamqp.MessagingRoutingKey),
		string(otelamqp.MessagingOperationType),
	}
	mapped := map[string]bool{}
	for _, attr := range history.EventAttributes {
		mapped[attr] = true
	}
	for _, k := range keys {
		if !mapped[k] {
			t.Errorf("span attribute %s has no Event field", k)
		}
	}
	fields := map[string]bool{}
	ty := reflect.TypeFor[history.Event]()
	for i := range ty.NumField() {
		name, _, _ := strings.Cut(ty.Field(i).Tag.Get("json"), ",")
		fields[name] = true
	}
	for f := range history.EventAttributes {
		if !fields[f] {
			t.Errorf("EventAttributes names %q, which is not an Event JSON field", f)
		}
	}
	// Outcome values are spelled as otelamqp spells them.
	for _, p := range [][2]string{{history.DedupProcessed, otelamqp.DedupProcessed}, {history.DedupDuplicate, otelamqp.DedupDuplicate},
		{history.DedupOff, otelamqp.DedupOff}, {history.OrderApplied, otelamqp.OrderApplied}, {history.OrderStale, otelamqp.OrderStale},
		{history.OrderEarly, otelamqp.OrderEarly}, {history.OrderOff, otelamqp.OrderOff},
		{history.OutcomeAcked, otelamqp.OutcomeAcked}, {history.OutcomeRetried, otelamqp.OutcomeRetried},
		{history.OutcomeDeadLettered, otelamqp.OutcomeDeadLettered}, {history.OutcomeUnknownType, otelamqp.OutcomeUnknownType},
		{history.OutcomeRequeued, otelamqp.OutcomeRequeued}, {history.OutcomeFailed, otelamqp.OutcomeFailed},
		{history.ViaOutbox, otelamqp.ViaOutbox}, {history.ViaDirect, otelamqp.ViaDirect}, {history.ViaRetry, otelamqp.ViaRetry},
		{history.ViaDeadLetter, otelamqp.ViaDeadLetter}, {history.ConfirmAck, otelamqp.ConfirmAck},
		{history.ConfirmNack, otelamqp.ConfirmNack}, {history.ConfirmTimeout, otelamqp.ConfirmTimeout},
		{history.ConfirmOff, otelamqp.ConfirmOff}} {
		if p[0] != p[1] {
			t.Errorf("outcome %q, otelamqp says %q", p[0], p[1])
		}
	}
}

func TestCounterCatalogNamesAreUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range history.Counters {
		if seen[c.Name] || c.Meaning == "" || (c.Source != history.FromHistory && c.Source != history.FromRunner) {
			t.Errorf("bad catalog entry %+v", c)
		}
		seen[c.Name] = true
	}
	if _, ok := history.LookupCounter("dedup.skips"); !ok {
		t.Error("dedup.skips missing")
	}
}

// LoadHeader streams the run file into what encoding/json makes of it, and
// LoadTable's events are Load's.
func TestStreamingLoadsMatchEncodingJSON(t *testing.T) {
	res := synth.New(synth.Config{Seed: 9, Inquiries: 40})
	h := res.History
	h.Faults = []history.Fault{{Name: "cut", Type: "outage", Params: map[string]string{"a": "b"}, Started: h.Meta.Start}}
	h.Counters["network.bytes-cut"] = 512
	dir := t.TempDir()
	if err := history.Save(dir, h); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, history.RunFile))
	if err != nil {
		t.Fatal(err)
	}
	var want history.History
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	got, err := history.LoadHeader(dir)
	if err != nil {
		t.Fatal(err)
	}
	// The system snapshot stays in the file until it is asked for; then it
	// is what encoding/json makes of it, and its JSON is the file's.
	gotJSON, err1 := json.Marshal(got.Snapshot.System)
	wantJSON, err2 := json.Marshal(want.Snapshot.System)
	if err1 != nil || err2 != nil || !bytes.Equal(gotJSON, wantJSON) {
		t.Fatalf("the loaded system snapshot marshals to %.200s (%v), encoding/json's to %.200s (%v)", gotJSON, err1, wantJSON, err2)
	}
	gotSnap, err1 := tfhistory.Of(got)
	wantSnap, err2 := tfhistory.Of(&want)
	if err1 != nil || err2 != nil || gotSnap == nil || len(gotSnap.Tickets) == 0 || !reflect.DeepEqual(gotSnap, wantSnap) {
		t.Fatalf("the loaded system snapshot decodes to %+v (%v), encoding/json's to %+v (%v)", gotSnap, err1, wantSnap, err2)
	}
	gotCopy := *got
	gotCopy.Snapshot.System, want.Snapshot.System = history.SystemSnapshot{}, history.SystemSnapshot{}
	if !reflect.DeepEqual(gotCopy, want) {
		t.Fatalf("LoadHeader:\n%+v\nencoding/json:\n%+v", gotCopy, want)
	}
	// Equal strings and command parameters are shared, not copies.
	first := got.Records[0]
	i := slices.IndexFunc(got.Records, func(r history.Record) bool { return r.Kind != first.Kind && r.ID == first.ID })
	if i < 0 {
		t.Fatal("no second record about the first record's subject")
	}
	if a, b := first.ID, got.Records[i].ID; a != b || unsafe.StringData(a) != unsafe.StringData(b) {
		t.Errorf("the ids %q and %q of two records are not one string", a, b)
	}
	shared := 0
	for i := range got.Records {
		for j := range i {
			a, b := got.Records[i].Attrs, got.Records[j].Attrs
			if len(a) > 0 && reflect.DeepEqual(a, b) && reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer() {
				shared++
			} else if len(a) > 0 && reflect.DeepEqual(a, b) {
				t.Fatalf("records %d and %d have equal attributes %v in two maps", j, i, a)
			}
		}
	}
	if shared == 0 {
		t.Error("no two records share their attributes: the test history has no equal ones")
	}
	loaded, err := history.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	table, err := history.LoadTable(dir)
	if err != nil {
		t.Fatal(err)
	}
	if table.NumEvents() != len(loaded.Events) || len(loaded.Events) == 0 || !reflect.DeepEqual(table.Table.Events(), loaded.Events) {
		t.Fatalf("LoadTable holds %d events unlike Load's %d", table.NumEvents(), len(loaded.Events))
	}
	isProcess := func(h *history.EventHead) bool { return h.Kind == history.KindProcess }
	for _, hh := range []*history.History{table, loaded} {
		var got []int
		for i, e := range hh.EventsWhere(isProcess) {
			if !reflect.DeepEqual(*e, loaded.Events[i]) || e.Kind != history.KindProcess {
				t.Fatalf("EventsWhere yields %+v as event %d, which is %+v", *e, i, loaded.Events[i])
			}
			got = append(got, i)
		}
		want := 0
		for _, e := range loaded.Events {
			if e.Kind == history.KindProcess {
				want++
			}
		}
		if len(got) != want || want == 0 {
			t.Fatalf("EventsWhere yields %d process events of %d", len(got), want)
		}
	}
	for i, e := range table.AllEvents() {
		if !reflect.DeepEqual(*e, loaded.Events[i]) || !reflect.DeepEqual(*table.EventAt(i), loaded.Events[i]) {
			t.Fatalf("event %d differs between AllEvents, EventAt and Load", i)
		}
	}
}

// A loaded history's system snapshot is read from the run file when it is
// first asked for; a run file changed in between is an error, not a wrong
// snapshot, and once decoded the snapshot no longer needs the file.
func TestLoadedSnapshotComesFromTheRunFile(t *testing.T) {
	h := synth.New(synth.Config{Seed: 3, Inquiries: 5}).History
	dir := t.TempDir()
	if err := history.Save(dir, h); err != nil {
		t.Fatal(err)
	}
	stale, err := history.LoadHeader(dir)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := history.LoadHeader(dir)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := tfhistory.Of(h)
	got, err := tfhistory.Of(fresh)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded %+v, %v; want %+v", got, err, want)
	}
	h.Meta.Seed += 1000 // a different run file, of another size
	if err := history.Save(dir, h); err != nil {
		t.Fatal(err)
	}
	if s, err := tfhistory.Of(stale); err == nil || !strings.Contains(err.Error(), "changed since") {
		t.Errorf("a snapshot whose run file changed decoded to %+v, %v", s, err)
	}
	if again, err := tfhistory.Of(fresh); err != nil || again != got {
		t.Errorf("the decoded snapshot was not kept: %p, %v", again, err)
	}
	if _, err := json.Marshal(fresh.Snapshot.System); err != nil {
		t.Errorf("a decoded snapshot whose file changed does not marshal: %v", err)
	}
}

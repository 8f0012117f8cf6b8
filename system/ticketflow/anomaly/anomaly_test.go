package anomaly

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/system/runtime/clock"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
	"github.com/ticketflow-lab/tflab/system/ticketflow/httpjson"
)

// Each type fires at exactly its own point, only for its message type.
func TestEachTypeFiresOnlyAtItsPointForItsMessageType(t *testing.T) {
	tests := []struct {
		typ       Type
		point     Point
		wantDelay time.Duration
		wantErr   bool
	}{
		{ConsumerErrorBeforeHandler, BeforeHandler, 0, true},
		{ConsumerErrorAfterHandler, AfterHandler, 0, true},
		{ConsumerDelayBeforeHandler, BeforeHandler, 250 * time.Millisecond, false},
		{ConsumerDelayAfterHandler, AfterHandler, 250 * time.Millisecond, false},
		{ProducerErrorBeforeTransaction, BeforeTransaction, 0, true},
		{ProducerErrorWithinTransaction, WithinTransaction, 0, true},
		{ProducerErrorAfterTransaction, AfterTransaction, 0, true},
		{OutboxErrorOnSave, OutboxSave, 0, true},
		{OutboxErrorOnPublish, Publish, 0, true},
	}
	if len(tests) != len(Types()) {
		t.Fatalf("table covers %d types, there are %d", len(tests), len(Types()))
	}
	for _, tt := range tests {
		t.Run(string(tt.typ), func(t *testing.T) {
			reg := NewRegistry(nil)
			a, err := Request{AnomalyType: string(tt.typ), MessageType: contracts.TypeTicketQualified,
				AdditionalParams: map[string]string{ParamDelayInMs: "250"}}.Parse()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := reg.Enable(a); err != nil {
				t.Fatal(err)
			}
			for _, p := range Points() {
				act := reg.Check(p, contracts.TypeTicketQualified, string(contracts.StatusQualified))
				if p != tt.point {
					if !act.None() {
						t.Fatalf("fired at %s: %+v", p, act)
					}
					continue
				}
				if act.Delay != tt.wantDelay {
					t.Fatalf("delay = %v, want %v", act.Delay, tt.wantDelay)
				}
				if (act.Err != nil) != tt.wantErr {
					t.Fatalf("err = %v, want error %v", act.Err, tt.wantErr)
				}
				if tt.wantErr {
					var ae *Error
					if !errors.Is(act.Err, ErrGenerated) || !errors.As(act.Err, &ae) || ae.Type != tt.typ || ae.Point != p {
						t.Fatalf("error %v is not the typed anomaly error", act.Err)
					}
				}
				if other := reg.Check(p, contracts.TypeTicketResolved, ""); !other.None() {
					t.Fatalf("fired for another message type: %+v", other)
				}
			}
			if got := reg.Fired(tt.typ, contracts.TypeTicketQualified); got != 1 {
				t.Fatalf("fired count = %d, want 1", got)
			}
		})
	}
}

func TestStatusFilterReallyMatchesTheTicketStatus(t *testing.T) {
	reg := NewRegistry(nil)
	a, err := Request{AnomalyType: "ConsumerErrorBeforeHandler", MessageType: contracts.TypeTicketResolved,
		AdditionalParams: map[string]string{"statusfilter": "resolved"}}.Parse()
	if err != nil {
		t.Fatal(err)
	}
	if a.Params.StatusFilter != contracts.StatusResolved {
		t.Fatalf("filter parsed as %q", a.Params.StatusFilter)
	}
	if _, err := reg.Enable(a); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		status string
		fires  bool
	}{
		{"Resolved", true},
		{"RESOLVED", true},
		{"Qualified", false},
		{"", false}, // unknown status never matches a filter
	}
	for _, tt := range tests {
		if got := !reg.Check(BeforeHandler, contracts.TypeTicketResolved, tt.status).None(); got != tt.fires {
			t.Errorf("status %q: fired=%v, want %v", tt.status, got, tt.fires)
		}
	}
}

func TestProducerErrorBeforeTransactionFiresOnDeclaredOutputs(t *testing.T) {
	reg := NewRegistry(nil)
	if _, err := reg.Enable(Anomaly{Type: ProducerErrorBeforeTransaction, MessageType: contracts.TypeIncidentCreated}); err != nil {
		t.Fatal(err)
	}
	outputs := contracts.Publishes(contracts.Tickets.Name, contracts.CommandQualifyTicket)
	act := reg.CheckAny(BeforeTransaction, outputs, "")
	if !errors.Is(act.Err, ErrGenerated) {
		t.Fatalf("did not fire before the transaction for outputs %v: %+v", outputs, act)
	}
	if act := reg.CheckAny(BeforeTransaction, contracts.Publishes(contracts.Tickets.Name, contracts.CommandBlockTicket), ""); !act.None() {
		t.Fatalf("fired for an execution that does not publish IncidentCreated: %+v", act)
	}
}

func TestDelayThenErrorAppliedOnFakeClock(t *testing.T) {
	reg := NewRegistry(nil)
	for _, a := range []Anomaly{
		{Type: ConsumerDelayBeforeHandler, MessageType: "InquirySubmitted", Params: Params{Delay: 2 * time.Second}},
		{Type: ConsumerErrorBeforeHandler, MessageType: "InquirySubmitted"},
	} {
		if _, err := reg.Enable(a); err != nil {
			t.Fatal(err)
		}
	}
	act := reg.Check(BeforeHandler, "InquirySubmitted", "")
	if act.Delay != 2*time.Second || act.Err == nil || len(act.Fired) != 2 {
		t.Fatalf("action = %+v", act)
	}
	fake := clock.NewFake(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	done := make(chan error, 1)
	go func() { done <- act.Apply(t.Context(), fake) }()
	waitFor(t, func() bool { return fake.Waiters() == 1 })
	select {
	case <-done:
		t.Fatal("Apply returned before the delay elapsed")
	default:
	}
	fake.Advance(2 * time.Second)
	select {
	case err := <-done:
		if !errors.Is(err, ErrGenerated) {
			t.Fatalf("Apply = %v, want the anomaly error after the delay", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Apply did not return after the delay")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := act.Apply(ctx, fake); !errors.Is(err, context.Canceled) {
		t.Fatalf("Apply on cancelled ctx = %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
		time.Sleep(time.Millisecond) // polling a condition, not synchronising on time
	}
}

func TestRequestParse(t *testing.T) {
	tests := []struct {
		name    string
		req     Request
		want    Anomaly
		wantErr bool
	}{
		{"error type", Request{"ConsumerErrorAfterHandler", "TicketCreated", nil}, Anomaly{ConsumerErrorAfterHandler, "TicketCreated", Params{}}, false},
		{"case-insensitive type", Request{"outboxerroronpublish", "X", nil}, Anomaly{OutboxErrorOnPublish, "X", Params{}}, false},
		{"delay", Request{"ConsumerDelayBeforeHandler", "X", map[string]string{"DelayInMs": "500"}}, Anomaly{ConsumerDelayBeforeHandler, "X", Params{Delay: 500 * time.Millisecond}}, false},
		{"delay ignored by error type", Request{"ConsumerErrorBeforeHandler", "X", map[string]string{"DelayInMs": "nope"}}, Anomaly{ConsumerErrorBeforeHandler, "X", Params{}}, false},
		{"unknown params ignored", Request{"ProducerErrorAfterTransaction", "X", map[string]string{"Foo": "bar"}}, Anomaly{ProducerErrorAfterTransaction, "X", Params{}}, false},
		{"status filter", Request{"ConsumerErrorBeforeHandler", "X", map[string]string{"StatusFilter": "blocked"}}, Anomaly{ConsumerErrorBeforeHandler, "X", Params{StatusFilter: contracts.StatusBlocked}}, false},
		{"unknown type", Request{"ConsumerExplodes", "X", nil}, Anomaly{}, true},
		{"missing message type", Request{"ConsumerErrorBeforeHandler", " ", nil}, Anomaly{}, true},
		{"delay required", Request{"ConsumerDelayAfterHandler", "X", nil}, Anomaly{}, true},
		{"delay not a number", Request{"ConsumerDelayAfterHandler", "X", map[string]string{"DelayInMs": "soon"}}, Anomaly{}, true},
		{"delay negative", Request{"ConsumerDelayAfterHandler", "X", map[string]string{"DelayInMs": "-5"}}, Anomaly{}, true},
		{"delay too long", Request{"ConsumerDelayAfterHandler", "X", map[string]string{"DelayInMs": "86400000"}}, Anomaly{}, true},
		{"unknown status", Request{"ConsumerErrorBeforeHandler", "X", map[string]string{"StatusFilter": "Sleeping"}}, Anomaly{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.req.Parse()
			if tt.wantErr {
				if err == nil {
					t.Fatalf("accepted: %+v", got)
				}
				if httpjson.StatusOf(err) != http.StatusBadRequest {
					t.Fatalf("error %v maps to %d, want 400", err, httpjson.StatusOf(err))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	var ute *UnknownTypeError
	if _, err := (Request{AnomalyType: "Nope", MessageType: "X"}).Parse(); !errors.As(err, &ute) {
		t.Fatalf("unknown type error = %T", err)
	}
}

func TestRegistryEnableIsIdempotentAndUpdatesParams(t *testing.T) {
	reg := NewRegistry(nil)
	a := Anomaly{Type: ConsumerDelayBeforeHandler, MessageType: "X", Params: Params{Delay: time.Second}}
	if changed, _ := reg.Enable(a); !changed {
		t.Fatal("first enable did not change anything")
	}
	if changed, _ := reg.Enable(a); changed {
		t.Fatal("same enable changed something")
	}
	a.Params.Delay = 2 * time.Second
	if changed, _ := reg.Enable(a); !changed {
		t.Fatal("new params were not applied")
	}
	if got := reg.Check(BeforeHandler, "X", "").Delay; got != 2*time.Second {
		t.Fatalf("delay = %v after update", got)
	}
	if _, err := reg.Enable(Anomaly{Type: "Bogus", MessageType: "X"}); err == nil {
		t.Fatal("bogus type enabled")
	}
	if _, err := reg.Enable(Anomaly{Type: OutboxErrorOnSave, MessageType: "A"}); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Enable(Anomaly{Type: ConsumerErrorBeforeHandler, MessageType: "B"}); err != nil {
		t.Fatal(err)
	}
	var got []Type
	for _, a := range reg.List() {
		got = append(got, a.Type)
	}
	if !reflect.DeepEqual(got, []Type{ConsumerErrorBeforeHandler, ConsumerDelayBeforeHandler, OutboxErrorOnSave}) {
		t.Fatalf("List order = %v", got)
	}
	if !reg.Disable(ConsumerDelayBeforeHandler, "X") || reg.Disable(ConsumerDelayBeforeHandler, "X") {
		t.Fatal("Disable did not report removal exactly once")
	}
	if !reg.Check(BeforeHandler, "X", "").None() {
		t.Fatal("disabled anomaly still fires")
	}
}

func TestSyncRoundTripBetweenInstances(t *testing.T) {
	a, b := NewRegistry(nil), NewRegistry(nil)
	an := Anomaly{Type: ConsumerDelayAfterHandler, MessageType: "TicketResolved", Params: Params{Delay: 300 * time.Millisecond, StatusFilter: contracts.StatusResolved}}
	if _, err := a.Enable(an); err != nil {
		t.Fatal(err)
	}
	if err := b.ApplySync(EnabledEvent(an)); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.List(), b.List()) {
		t.Fatalf("instances differ: %+v vs %+v", a.List(), b.List())
	}
	if err := b.ApplySync(EnabledEvent(an)); err != nil { // the sender's own echo
		t.Fatal(err)
	}
	if err := b.ApplySync(DisabledEvent(an.Type, an.MessageType)); err != nil {
		t.Fatal(err)
	}
	if len(b.List()) != 0 {
		t.Fatalf("disable not applied: %+v", b.List())
	}
	bad := []contracts.AnomalyEventWrapper{
		{},
		{Enabled: &contracts.AnomalyEnabled{AnomalyType: "X"}, Disabled: &contracts.AnomalyDisabled{}},
		{Enabled: &contracts.AnomalyEnabled{AnomalyType: "Nope", MessageType: "X"}},
		{Disabled: &contracts.AnomalyDisabled{AnomalyType: "Nope", MessageType: "X"}},
	}
	for i, w := range bad {
		if err := b.ApplySync(w); err == nil {
			t.Errorf("bad sync %d accepted", i)
		}
	}
}

// Disabling a delay anomaly ends the delay it is holding, and the handling
// goes on; a re-enabled anomaly holds again.
func TestDisablingADelayReleasesTheHeldHandling(t *testing.T) {
	reg := NewRegistry(nil)
	hold := Anomaly{Type: ConsumerDelayBeforeHandler, MessageType: "TicketQualified", Params: Params{Delay: 10 * time.Minute}}
	if _, err := reg.Enable(hold); err != nil {
		t.Fatal(err)
	}
	fake := clock.NewFake(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	act := reg.Check(BeforeHandler, "TicketQualified", "")
	done := make(chan error, 1)
	go func() { done <- act.Apply(t.Context(), fake) }()
	waitFor(t, func() bool { return fake.Waiters() == 1 })
	select {
	case err := <-done:
		t.Fatalf("Apply returned %v while the anomaly was enabled", err)
	default:
	}
	if !reg.Disable(ConsumerDelayBeforeHandler, "TicketQualified") {
		t.Fatal("Disable found nothing")
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("released Apply = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Apply still held after the anomaly was disabled")
	}
	if _, err := reg.Enable(hold); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reg.Check(BeforeHandler, "TicketQualified", "").Released:
		t.Fatal("a re-enabled delay is released already")
	default:
	}
}

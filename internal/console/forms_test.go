package console

import (
	"net/url"
	"strings"
	"testing"

	"github.com/ticketflow-lab/tflab/scenarios/spec"
	"github.com/ticketflow-lab/tflab/system/ticketflow"
)

func formOf(t *testing.T, typ string) Form {
	t.Helper()
	forms, err := Forms(ticketflow.System().Vocabulary)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range forms {
		if f.Type == typ {
			return f
		}
	}
	t.Fatalf("no %s form", typ)
	return Form{}
}

func TestFormsFollowTheSchema(t *testing.T) {
	forms, err := Forms(ticketflow.System().Vocabulary)
	if err != nil {
		t.Fatal(err)
	}
	if len(forms) != len(spec.ActionTypes) {
		t.Fatalf("%d forms for %d action types", len(forms), len(spec.ActionTypes))
	}
	m := formOf(t, spec.TypeMessage)
	var fault *Field
	for i := range m.Fields {
		if m.Fields[i].Name == "fault" {
			fault = &m.Fields[i]
		}
	}
	if fault == nil || fault.Kind != "select" || strings.Join(fault.Options, ",") != strings.Join(spec.MessageFaults, ",") {
		t.Fatalf("message form's fault field %+v, want a select of %v", fault, spec.MessageFaults)
	}
	if m.Fields[0].Name != "service" {
		t.Fatalf("message form starts with %q, want service", m.Fields[0].Name)
	}
	n := formOf(t, spec.TypeNetwork)
	if !hasField(n, "attributes.latency") || !hasField(n, "toxic") {
		t.Fatalf("network form fields %+v", n.Fields)
	}
}

func hasField(f Form, name string) bool {
	for _, fd := range f.Fields {
		if fd.Name == name {
			return true
		}
	}
	return false
}

func TestDecodeValidForm(t *testing.T) {
	a, err := formOf(t, "message").Decode(url.Values{"service": {"tickets"}, "fault": {"duplicate-delivery"},
		"match.messageType": {"TicketCreated"}, "match.count": {"3"}})
	if err != nil {
		t.Fatal(err)
	}
	m, ok := a.(*spec.MessageAction)
	if !ok || m.Service != "tickets" || m.Fault != "duplicate-delivery" || m.Match.MessageType != "TicketCreated" || m.Match.Count != 3 {
		t.Fatalf("decoded %#v", a)
	}
	a, err = formOf(t, "network").Decode(url.Values{"link": {"sla"}, "toxic": {"latency"}, "attributes.latency": {"200"}})
	if err != nil {
		t.Fatal(err)
	}
	if n := a.(*spec.NetworkAction); n.Attributes["latency"] != 200 || n.Link != "sla" {
		t.Fatalf("decoded %#v", n)
	}
}

func TestDecodeRefusesWithTheField(t *testing.T) {
	for _, tc := range []struct {
		name   string
		typ    string
		values url.Values
		field  string
		reason string
	}{
		{"unknown fault", "message", url.Values{"service": {"tickets"}, "fault": {"duplicate"}}, "fault", "duplicate"},
		{"missing service", "message", url.Values{"fault": {"drop-ack"}}, "service", "service"},
		{"not a number", "message", url.Values{"service": {"tickets"}, "fault": {"reorder"}, "window": {"lots"}}, "window", "lots"},
		{"out of range", "message", url.Values{"service": {"tickets"}, "fault": {"reorder"}, "window": {"4"}, "match.probability": {"3"}}, "match.probability", "probability"},
		{"yaml in a value", "message", url.Values{"service": {"tickets\nfault: drop-ack"}, "fault": {"reorder"}, "window": {"2"}}, "service", "service"},
		{"unknown field", "message", url.Values{"service": {"tickets"}, "fault": {"drop-ack"}, "toxic": {"latency"}}, "", "toxic: not a field"},
		{"bad duration", "message", url.Values{"service": {"tickets"}, "fault": {"delay-confirm"}, "delay": {"soon"}}, "delay", "duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := formOf(t, tc.typ).Decode(tc.values)
			fe, ok := err.(FieldErrors)
			if !ok {
				t.Fatalf("err = %v, want FieldErrors", err)
			}
			if !strings.Contains(fe[tc.field], tc.reason) {
				t.Fatalf("errors %v: want %q under %q", fe, tc.reason, tc.field)
			}
		})
	}
}

func TestDecodeGroupReasonLandsOnAField(t *testing.T) {
	f := formOf(t, "network")
	_, err := f.Decode(url.Values{"link": {"tickets"}, "toxic": {"latency"}})
	fe, ok := err.(FieldErrors)
	if !ok {
		t.Fatalf("err = %v", err)
	}
	for k := range fe {
		if k != "" && !hasField(f, k) {
			t.Fatalf("reason under %q, which the form does not show: %v", k, fe)
		}
	}
	if !strings.Contains(fe.Error(), "latency") {
		t.Fatalf("errors %v do not name the missing latency", fe)
	}
}

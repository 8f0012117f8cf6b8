package amqpproxy

import "testing"

// Every registered fault can act wherever its rules may put it, validates
// with its defaults, and has one unique name: the checks a new fault's file
// and registry line must pass.
func TestRegistryContract(t *testing.T) {
	seen := map[Fault]bool{}
	for _, e := range registry {
		k := e.kind
		if e.name == "" || seen[e.name] {
			t.Errorf("fault %q: empty or registered twice", e.name)
		}
		seen[e.name] = true
		if _, renamed := renamedFaults[e.name]; renamed {
			t.Errorf("fault %q: also a former name", e.name)
		}
		if !k.movable && k.at != OnDeliver && k.at != OnPublish {
			t.Errorf("%s: point %q", e.name, k.at)
		}
		if (k.movable || k.at == OnDeliver) && k.deliver == nil {
			t.Errorf("%s acts on deliveries but has no deliver", e.name)
		}
		if (k.movable || k.at == OnPublish) && k.publish == nil {
			t.Errorf("%s acts on publishes but has no publish", e.name)
		}
		if k.needsAck && k.at == OnPublish || k.needsConfirm && k.at == OnDeliver {
			t.Errorf("%s: needsAck/needsConfirm do not fit its point", e.name)
		}
		r := Rule{Fault: e.name}
		r.setDefaults()
		if e.name == DelayDelivery || e.name == DelayConfirm {
			r.Delay = Duration(1)
		}
		if err := r.Validate(); err != nil {
			t.Errorf("%s with its defaults: %v", e.name, err)
		}
		if f, err := ParseFault(string(e.name)); err != nil || f != e.name {
			t.Errorf("ParseFault(%s) = %s, %v", e.name, f, err)
		}
	}
}

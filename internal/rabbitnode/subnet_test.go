package rabbitnode

import (
	"testing"
)

// Two clusters alive on one machine (here two claims in one process, as
// two tflab processes would make them) get different subnets even when
// their names hash alike, and a released subnet is handed out again.
func TestClaimSubnetGivesLiveClustersDifferentSubnets(t *testing.T) {
	name := "tflabclaimtest"
	a, ca, err := claimSubnet(name)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Equal(Subnet(name)) {
		ca.Close()
		t.Fatalf("first claim: subnet %s, want Subnet(%q) = %s", a, name, Subnet(name))
	}
	b, cb, err := claimSubnet(name)
	if err != nil {
		ca.Close()
		t.Fatal(err)
	}
	if a.Equal(b) {
		t.Errorf("two live claims of %q share subnet %s", name, a)
	}
	if err := ca.Close(); err != nil {
		t.Fatal(err)
	}
	c, cc, err := claimSubnet(name)
	if err != nil {
		cb.Close()
		t.Fatal(err)
	}
	if !c.Equal(a) {
		t.Errorf("after the first claim's release: subnet %s, want %s again", c, a)
	}
	for _, cl := range []interface{ Close() error }{cb, cc} {
		if err := cl.Close(); err != nil {
			t.Error(err)
		}
	}
}

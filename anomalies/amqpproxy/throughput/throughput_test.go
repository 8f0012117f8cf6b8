package throughput

import (
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	if err := (Config{}).Validate(); err != nil {
		t.Fatalf("zero config: %v", err)
	}
	for _, c := range []Config{{Messages: -1}, {Prefetch: 70000}} {
		if err := c.Validate(); err == nil {
			t.Fatalf("%+v accepted", c)
		}
	}
	c := Config{}
	c.setDefaults()
	if c.Messages != 30000 || c.Size != 512 || c.ConfirmWindow != 256 || c.Prefetch != 200 || c.Queue == "" {
		t.Fatalf("defaults %+v", c)
	}
}

func TestMedian(t *testing.T) {
	r := func(rates ...float64) []Result {
		var out []Result
		for _, x := range rates {
			out = append(out, Result{Rate: x, Elapsed: time.Second})
		}
		return out
	}
	if m := median(r(3, 1, 2)); m != 2 {
		t.Fatalf("median of 3,1,2 = %v", m)
	}
	if m := median(r(4, 1, 3, 2)); m != 2.5 {
		t.Fatalf("median of 4,1,3,2 = %v", m)
	}
}

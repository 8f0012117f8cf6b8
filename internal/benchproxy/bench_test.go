package benchproxy

import (
	"strings"
	"testing"
	"time"
)

func TestMedianRate(t *testing.T) {
	r := func(n int, ms int) Result { return Result{Messages: n, Elapsed: time.Duration(ms) * time.Millisecond} }
	if got := medianRate([]Result{r(1000, 1000), r(3000, 1000), r(2000, 1000)}); got != 2000 {
		t.Fatalf("median of 1000, 3000, 2000 = %v", got)
	}
	if got := medianRate([]Result{r(1000, 1000), r(2000, 1000)}); got != 1500 {
		t.Fatalf("median of 1000, 2000 = %v", got)
	}
	if got := medianRate(nil); got != 0 {
		t.Fatalf("median of nothing = %v", got)
	}
	if got := (Result{Messages: 10}).Rate(); got != 0 {
		t.Fatalf("rate without elapsed time = %v", got)
	}
}

func TestValidate(t *testing.T) {
	if err := (Config{AMQPURL: "amqp://x/"}).Validate(); err != nil {
		t.Fatalf("defaults rejected: %v", err)
	}
	if err := (Config{}).Validate(); err == nil || !strings.Contains(err.Error(), "amqp url") {
		t.Fatalf("missing URL: %v", err)
	}
	if err := (Config{AMQPURL: "amqp://x/", Window: -1}).Validate(); err == nil {
		t.Fatal("negative window accepted")
	}
	if _, err := Compare(t.Context(), "amqp://x/", "amqp://y/", Config{}, 0, nil); err == nil {
		t.Fatal("zero rounds accepted")
	}
}

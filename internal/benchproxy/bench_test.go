package benchproxy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMedianRate(t *testing.T) {
	r := func(n int, ms int) Result { return Result{Messages: n, Elapsed: time.Duration(ms) * time.Millisecond} }
	if got := MedianRate([]Result{r(1000, 1000), r(3000, 1000), r(2000, 1000)}); got != 2000 {
		t.Fatalf("median of 1000, 3000, 2000 = %v", got)
	}
	if got := MedianRate([]Result{r(1000, 1000), r(2000, 1000)}); got != 1500 {
		t.Fatalf("median of 1000, 2000 = %v", got)
	}
	if got := MedianRate[Result](nil); got != 0 {
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

// Rounds alternates the sides round by round and stops at the first error,
// naming its side and round and keeping the results so far.
func TestRoundsAlternateAndStopAtAnError(t *testing.T) {
	var order []string
	res, err := Rounds(t.Context(), 3, []Side{"a", "b"}, func(_ context.Context, side Side, round int) (int, error) {
		order = append(order, fmt.Sprintf("%s%d", side, round))
		if side == "b" && round == 2 {
			return 0, errors.New("boom")
		}
		return round, nil
	})
	if got := strings.Join(order, " "); got != "a1 b1 a2 b2" {
		t.Fatalf("order %q, want a1 b1 a2 b2", got)
	}
	if err == nil || err.Error() != "b round 2: boom" {
		t.Fatalf("error %v, want b round 2: boom", err)
	}
	if !slices.Equal(res["a"], []int{1, 2}) || !slices.Equal(res["b"], []int{1}) {
		t.Fatalf("results so far %v", res)
	}
}

package benchhop

import (
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/internal/benchproxy"
)

func TestConfigValidateNamesEveryProblem(t *testing.T) {
	err := Config{Messages: -1}.Validate()
	for _, want := range []string{"amqp url", "messages", "dir"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want an error naming the %s, got %v", want, err)
		}
	}
	if err := (Config{AMQPURL: "amqp://127.0.0.1:1/", Dir: t.TempDir()}).Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestMedianAndRate(t *testing.T) {
	rs := []Result{{Messages: 100, Elapsed: time.Second}, {Messages: 300, Elapsed: time.Second}, {Messages: 200, Elapsed: time.Second}}
	if got := benchproxy.MedianRate(rs); got != 200 {
		t.Errorf("median of 100, 300, 200 msg/s = %v", got)
	}
	if got := benchproxy.MedianRate(rs[:2]); got != 200 {
		t.Errorf("median of 100, 300 msg/s = %v", got)
	}
	if got := (Result{Messages: 10}).Rate(); got != 0 {
		t.Errorf("rate without elapsed time = %v", got)
	}
	if got := (Result{Messages: 4, CPU: 8 * time.Millisecond}).CPUPerMessage(); got != 2*time.Millisecond {
		t.Errorf("cpu per message = %v", got)
	}
}

func TestCompareRefusesZeroRounds(t *testing.T) {
	if _, err := Compare(t.Context(), Config{}, 0, nil); err == nil {
		t.Fatal("0 rounds accepted")
	}
}

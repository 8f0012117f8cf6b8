package benchhop

import (
	"os"
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

func TestMedianCPUAddsTheBrokers(t *testing.T) {
	rs := []Result{
		{Messages: 10, CPU: 100 * time.Microsecond, BrokerCPU: 500 * time.Microsecond}, // 60 µs/msg
		{Messages: 10, CPU: 300 * time.Microsecond},                                    // 30 µs/msg
		{Messages: 10, CPU: 200 * time.Microsecond, BrokerCPU: 200 * time.Microsecond}, // 40 µs/msg
	}
	if got := medianCPU(rs); got != 40*time.Microsecond {
		t.Errorf("median of 60, 30, 40 µs/msg = %v", got)
	}
	if got := medianCPU(rs[:2]); got != 45*time.Microsecond {
		t.Errorf("median of 60, 30 µs/msg = %v", got)
	}
	if got := medianCPU(nil); got != 0 {
		t.Errorf("median of nothing = %v", got)
	}
}

func TestMedianSplitTakesEachSideOnItsOwn(t *testing.T) {
	rs := []Result{
		{Messages: 10, CPU: 100 * time.Microsecond, BrokerCPU: 500 * time.Microsecond}, // 10 + 50 µs/msg
		{Messages: 10, CPU: 300 * time.Microsecond},                                    // 30 + 0
		{Messages: 10, CPU: 200 * time.Microsecond, BrokerCPU: 200 * time.Microsecond}, // 20 + 20
	}
	p, b := MedianSplit(rs)
	if p != 20*time.Microsecond || b != 20*time.Microsecond {
		t.Errorf("split of (10+50, 30+0, 20+20) µs/msg = %v + %v, want 20µs + 20µs", p, b)
	}
	if p, b := MedianSplit(nil); p != 0 || b != 0 {
		t.Errorf("split of nothing = %v + %v", p, b)
	}
}

func TestProcCPUReadsAProcess(t *testing.T) {
	if got := procCPU(0); got != 0 {
		t.Errorf("pid 0: %v, want 0", got)
	}
	// Burn CPU until /proc shows some (its unit is a 10 ms tick).
	deadline := time.Now().Add(10 * time.Second)
	x := 0
	for procCPU(os.Getpid()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("this process's CPU time read as 0 for 10 s of busy work")
		}
		for i := range 1_000_000 {
			x += i
		}
	}
	_ = x
	if self := cpuTime(); procCPU(os.Getpid()) > self+time.Second {
		t.Errorf("/proc reads %v, getrusage %v", procCPU(os.Getpid()), self)
	}
}

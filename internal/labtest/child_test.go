package labtest

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestDieWithTestKeepsOtherAttributes(t *testing.T) {
	cmd := exec.Command("true")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	DieWithTest(cmd)
	if !cmd.SysProcAttr.Setpgid || cmd.SysProcAttr.Pdeathsig != syscall.SIGTERM {
		t.Fatalf("SysProcAttr = %+v, want Setpgid kept and Pdeathsig SIGTERM", *cmd.SysProcAttr)
	}
}

// TestDieWithTestEndsTheChildWhenItsParentDies runs this test binary again
// as a helper that starts `sleep 300` with DieWithTest and exits at once:
// the kernel must then end the sleep.
func TestDieWithTestEndsTheChildWhenItsParentDies(t *testing.T) {
	const run = "-test.run=^TestDieWithTestEndsTheChildWhenItsParentDies$"
	if os.Getenv("LABTEST_CHILD_HELPER") == "1" {
		cmd := exec.Command("sleep", "300")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		DieWithTest(cmd)
		if err := cmd.Start(); err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString(strconv.Itoa(cmd.Process.Pid) + "\n")
		os.Exit(0)
	}
	helper := exec.Command(os.Args[0], run)
	helper.Env = append(os.Environ(), "LABTEST_CHILD_HELPER=1")
	out, err := helper.Output()
	if err != nil {
		t.Fatalf("helper: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0]))
	if err != nil {
		t.Fatalf("helper printed %q: %v", out, err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	Eventually(t, 30*time.Second, func() error {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return nil
		}
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil && strings.Contains(string(b), ") Z ") {
			return nil // ended, not yet reaped by init
		}
		return errors.New("sleep still runs after its parent died")
	})
}

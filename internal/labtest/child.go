package labtest

import (
	"os/exec"
	"syscall"
)

// DieWithTest makes the kernel send cmd SIGTERM when the test binary dies,
// also when `go test` kills it at its timeout, so a `tflab up` started by a
// test shuts its lab down instead of outliving the test. It keeps any
// SysProcAttr already set (e.g. Setpgid). Call it before cmd.Start.
//
// Pdeathsig belongs to the OS thread that forks the child; Go ends a thread
// only when a goroutine locked to it exits, which tests do not do, so the
// signal comes when the test process dies.
func DieWithTest(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
}

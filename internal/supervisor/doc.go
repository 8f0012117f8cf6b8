// Package supervisor runs the lab's service processes as children of the
// control process and gives process anomalies a clean API: Kill (SIGKILL),
// Pause (SIGSTOP), Resume (SIGCONT), Stop (SIGTERM, then SIGKILL after a
// grace period) and Restart.
//
// # Design
//
//	Supervisor
//	  ├─ "inquiries"  Process{spec, cmd, pid, exited}  ── tflab serve ticketflow/inquiries …
//	  ├─ "sla"        …
//	  └─ "sla-2"      …
//
// Each child gets its own process group (Setpgid) so signals reach the whole
// group, and Pdeathsig SIGKILL so the kernel kills it when the control process
// dies, even by SIGKILL. stdout and stderr go to the spec's log file in append
// mode, so a restarted service keeps one log. stdin is /dev/null.
//
// A goroutine per process waits for it and records the exit; nothing is
// restarted automatically (a crashed service stays down until Restart). An
// optional OnEvent callback hears every start, exit, pause and resume, e.g.
// to rewrite lab.json with the new pid.
//
// Pdeathsig belongs to the OS thread that forked the child. Go ends a thread
// only when a goroutine locked to it exits, which never happens here, so the
// signal comes when the process dies.
//
// # Best practices
//
//   - Names are instance ids ("sla-2"); they are unique within a supervisor.
//   - Stop a paused process with Stop, not Kill, if it should shut down
//     cleanly: Stop sends SIGTERM then SIGCONT so the handler can run.
//   - Every wait is bounded: Kill waits at most KillWait, Stop the grace period
//     plus KillWait.
package supervisor

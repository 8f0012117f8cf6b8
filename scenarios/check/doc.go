// Package check judges a run: the nine Ticketflow invariants (TF1–TF9) over a
// history, fault efficacy from evidence counters, and the overall verdict
// with its exit code. It imports only scenarios/history, so `tflab verify`
// re-judges a saved run offline and reaches the same verdict.
//
// # Design
//
// Like etcd's robustness validators, each invariant is a named guarantee with
// a sentinel error that words it ("broke TF2 ExactlyOnceEffects – every side
// effect … happens exactly once"); a checker returns PASS, VIOLATED (with
// violations naming message ids and trace ids) or INCONCLUSIVE (the data it
// needs is missing). Findings use the established vocabulary: lost,
// duplicated delivery (legal, counted as a note, split redelivered vs not as
// RabbitTestTool does) vs duplicated effect (a violation — the blind spot of
// Jepsen's total-queue), unexpected (incl. ghost events), out of order
// (redelivered vs not), plus diverged, oracle mismatch, unbounded
// redelivery, unaccounted dead letter and broken trace.
//
//	history ──newIndex──► index ──TF1…TF9──► []Result ─┐
//	        └─DeriveCounters + runner counters ─► evidence ├─► Verdict{Outcome, ExitCode}
//	        └─Meta.Expect (negative control) ────────────┘
//
// Verdict order (Evaluate): unexpected violation → FAIL (4); missing fault
// evidence → INCONCLUSIVE (5, never PASS); expected violation absent → FAIL
// (4); an undecided checked invariant → INCONCLUSIVE (5); else PASS (0).
// Then a fault step whose `when` never fired (history.Fault.NeverFired)
// turns anything but an unexpected violation into INCONCLUSIVE naming the
// step, and a failed steady-state probe after the run turns a PASS into
// INCONCLUSIVE.
//
// TF5's oracle (Oracle) is written from the SLA rules in the spec, not from
// the SLA service's code: an oracle must not reuse the code it checks.
//
// # Best practices
//
//   - Test a checker on a hand-built history (scenarios/history/synth plus one
//     deliberate break) and name cases "Guarantee – situation – pass|fail".
//   - A checker that lacks its data says INCONCLUSIVE with a reason; it never
//     passes vacuously when the workload implies data should exist.
//   - Keep output deterministic: iterate maps in sorted order, so journals and
//     golden files do not flap.
//   - Derived counters are recomputed from the history and never trusted from
//     the runner; runner-only counters (Toxiproxy, broker) come from History.Counters.
package check

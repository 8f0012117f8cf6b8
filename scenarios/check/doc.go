// Package check judges a run: the system's own invariants (a system's
// vocabulary brings them, e.g. Ticketflow's TF1–TF7 in
// system/ticketflow/lab/invariants), the generic ones every system is
// judged by (Generic: TF8 BoundedRedelivery, TF9 ConnectedTraces, TF10
// Quiescence, Q1 TotalQueue), fault efficacy from evidence counters, and
// the overall verdict with its exit code. It imports only
// scenarios/history, so `tflab verify` re-judges a saved run offline and
// reaches the same verdict.
//
// A system's invariant is an Invariant whose Check reads the history
// through a read-only View: events by number, message id, aggregate and
// span, dead letters, holdings, the workload records and the system's own
// snapshot (SystemSnapshot), with Memo for its own lookups. It starts with
// NewResult, collects Violations and Notes and ends with Finish; Evaluate
// then classifies its lost findings as stuck when the broker still holds
// their messages. A system may replace a generic invariant by id (e.g.
// ConnectedTracesOf with its flows).
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
// redelivery, unaccounted dead letter, broken trace, and stuck.
//
// Where every message is at the end decides lost vs stuck. The history's
// broker holdings (Snapshot.Holdings) list what each queue still held. A
// missing effect or subject (lost, diverged) whose message, or an upstream
// message of its flow (same message id, aggregate id or correlation id),
// is held is stuck in that queue, with the reason when the holdings tell (no
// consumer, a consumer whose every prefetch slot holds an unacked delivery,
// a blocked connection); if none matches but a queue held more messages than
// were read, it is unaccounted (possibly stuck); a message in a dead-letter
// queue is accounted for (TF8). Only what is nowhere is lost. Stuck is never
// a PASS: a safety invariant whose only findings are stuck is INCONCLUSIVE
// naming TF10 and the queue, and TF10 Quiescence (every queue drained, no
// delivery left unacked) fails the run. TF10 is judged in every run, also
// when a scenario selects its invariants: the others are judged at
// quiescence, so reaching it is their precondition. Without holdings (a run
// saved before they were recorded) TF10 is INCONCLUSIVE and nothing is
// reclassified.
//
// Q1 TotalQueue is the broker-level oracle of Jepsen's total-queue
// checker, judged beside TF1–TF10 in every run whose Meta.Broker says the
// broker had more than one node (SKIPPED on one node), also when a scenario
// selects its invariants. Per message id: confirmed (a business publish
// span with confirm ack) but never handled, in no queue's held messages and
// no dead-letter queue → lost (violation); handled but never published →
// unexpected (violation); never confirmed (nack, timeout, confirms off) but
// handled → recovered (note); handled more than once from one queue as a
// first attempt without the redelivered flag → duplicated delivery (note).
// Only types some queue consumed in the run can be lost: the broker confirms
// unroutable messages too.
//
// One defect is one finding: findings with the same category, subject and
// effect (e.g. a second closure message seen in the spans and in
// Communication's rows) are merged, their details citing both sources, so
// the evidence counts defects.
//
//	history ──newIndex──► index ──TF1…TF10, Q1──► account ─► []Result ─┐
//	        └─DeriveCounters + runner counters ─► evidence ──────────├─► Verdict{Outcome, ExitCode}
//	        └─Meta.Expect (negative control) ────────────────────────┤
//	        └─Probes (steady state before / after) ──────────────────┘
//
// Verdict order (Evaluate): a failed steady-state probe before the method →
// INCONCLUSIVE (5, "not started", no invariant judged); unexpected violation
// → FAIL (4); a failed probe after the run → FAIL (4, "deviated"; a negative
// control only lists it, "also deviated"); missing fault evidence →
// INCONCLUSIVE (5, never PASS); expected violation absent → FAIL (4); an
// undecided checked invariant → INCONCLUSIVE (5); else PASS (0). Every probe
// is a row of the verdict (Verdict.Probes) beside the invariants.
// A fault step whose `when` never fired (history.Fault.NeverFired) turns a
// PASS, an undecided run or a control's missing violation into
// INCONCLUSIVE naming the step: the run did not do what the scenario says.
//
// Evaluate builds the index on three goroutines, then runs DeriveCounters
// and the checkers (the lab's and the system's) concurrently on GOMAXPROCS
// goroutines, each with an index of its own (index.ev's cache of copied
// events, which View.Event reads through, is per goroutine; a View's Memo
// is shared and builds each value once; a checker that keeps a View in a
// memoized value must read events through its own View, not the one that
// built the value), and puts the results back in invariant order.
// View.RolledBack and View.Head read a table row without copying the event. The span index is
// sorted by span id with the start of each bucket of ids sharing their top
// bits.
//
// # Best practices
//
//   - Test a checker on a hand-built history (e.g. Ticketflow's
//     system/ticketflow/lab/synth plus one deliberate break) and name cases "Guarantee – situation – pass|fail".
//   - A checker that lacks its data says INCONCLUSIVE with a reason; it never
//     passes vacuously when the workload implies data should exist.
//   - Keep output deterministic: iterate maps in sorted order, so journals and
//     golden files do not flap.
//   - Derived counters are recomputed from the history and never trusted from
//     the runner; runner-only counters (Toxiproxy, broker) come from History.Counters.
//   - A checker only reads the index and the history: checkers run
//     concurrently (the check tests run under -race).
package check

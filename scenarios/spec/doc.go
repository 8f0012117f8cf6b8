// Package spec reads scenario files: Go types, strict YAML decoding with
// file:line errors, validation, defaults, and the resolution of a scenario
// into a Plan for one run (seed, jitter, protections, negative control).
//
// # Design
//
// A scenario follows Chaos Toolkit's experiment shape — steady state before
// and after, a method, rollbacks — and adds what the lab needs: a seed, the
// protections per service, a workload, the invariants to check, the evidence
// its fault must leave, what it expects, and its negative control:
//
//	name, description, tags, system, seed
//	protections: {dedup: off, ordering: {sla: off}}
//	workload:    {settle, …the system's keys}  decoded by the system's
//	              WorkloadType (Ticketflow: inquiries, rate, languages, …)
//	steadyState: {before: [probe…], after: [probe…]}
//	method:      [{name, at, jitter, duration, when?, type: network|outage|
//	              partition|process|broker|inapp|message|cluster, …class fields}]
//	rollbacks:   [{type, …}]         run once at the end, always
//	invariants:  [TF1…, Q1]          the system's and the generic ones; default all
//	evidence:    ["dedup.skips > 0"] required: no evidence → INCONCLUSIVE
//	expect:      pass | {violated: [TF2]}
//	control:     {unprotect: [dedup], method?, expect: {violated: [TF2]}, evidence?,
//	              queueType?, partitionHandling?}
//	queueType:   classic|mirrored|quorum   the lab's queue type; default the lab's own
//	nodes:       3                         a private cluster of this size; default the lab's own
//	partitionHandling: ignore|pause_minority|autoheal   the cluster's; default the lab's own
//
// A step is a union decoded in two steps on its `type` field (k6's
// ScenarioConfigs pattern): the common fields plus the fields of one action
// class. Decoding is strict everywhere — yaml.v3's KnownFields does not reach
// into custom unmarshalers, so a reflective walk over the node tree checks
// every key against the Go types and records each path's line; validation
// messages reuse those lines. All problems are reported at once
// (errors.Join, sorted by line), each as a *Error "file:line: message":
// validation runs on whatever decoded, so a typo does not hide the file's
// other mistakes, and a validation error on a line that already has a
// decoding error is left out as a restatement of it. A step that fails to
// decode keeps its place in its list, so later steps keep their lines.
//
// The names a scenario gives its system — services, message types,
// protections, in-app faults — are judged by that system's Vocabulary,
// which the system under test supplies (scenarios/sut); Parse takes the
// vocabularies of every known system and picks the one `system:` names.
// An unknown system is reported once, with the known ones, and its names
// are not judged. The lab's own names (action types, toxics, operations,
// message faults, probes) are in names.go.
//
// A step's `when` (When) keys it to an event of the run instead of the wall
// clock: the count-th distinct message of a type a service handled or
// published, another step started or healed, or a live counter compared
// with a value, optionally followed by a delay. With `at` it fires at the
// first moment at or after `at` when the condition holds. A step's duration
// counts from the moment it is in force (its injection returned, e.g. a
// broker alarm once the broker reports it), so a keyed step that heals
// needs one, and a slow injection does not shorten the fault.
// Names are checked against the vocabularies and the method's steps; a step
// that waits for itself, directly or through a cycle, is an error. The
// plan keeps the condition beside the step (Scheduled.When); its End
// counts a keyed step at its earliest, `at` and `at`+duration.
//
// A step's `until` (a When without delay) heals it once the condition holds
// after the step fired (span counts count from then), and not before its
// duration. The workload's `hold` (Hold) submits the first `after` items
// and holds the rest until its condition holds. The live counters
// workload.submitted and workload.accepted let a step wait for the
// workload's progress.
//
// A step without a duration is healed when the method ends (Plan.End); an
// instant action (restart, resume, start, close-connections) takes no
// duration. The runner heals every fault in a deferred step that also runs
// on error and Ctrl-C, then runs the rollbacks.
//
// The JSON Schema for editors is generated from the vocabularies by
// scenarios.SchemaFor (`tflab scenarios schema`); the committed
// scenarios/scenario.schema.json is Ticketflow's. A test in
// scenarios/catalog validates every catalog file with it and proves it
// rejects a bad one, and compares its keys with these types.
//
// # Best practices
//
//   - Keep workloads CI-sized (tens of inquiries) and faults to seconds.
//   - Name evidence that only the fault can produce (redelivered deliveries,
//     dedup skips, bytes cut), not counters any run moves.
//   - Give every protection-guarded scenario a control that switches that
//     protection off and names the invariant that must break.
//   - Randomness in a plan comes only from the seed (jitter today); the same
//     scenario and seed give the same plan.
//   - Key a fault that must meet the workload in a given state to the
//     workload's events (`when`), not to an offset: on a loaded machine an
//     offset lands elsewhere in the workload.
package spec

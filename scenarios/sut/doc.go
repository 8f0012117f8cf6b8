// Package sut is the contract between the lab and one system under test: a
// System value bundles the system's services and their Mains, its variants
// (toggles and profiles), its vocabulary (with its invariants and its
// workload block's decoder), the queues it declares (and those it keeps for
// inspection), its workload driver, end-to-end probe, snapshotter and
// counts. A Registry holds the
// systems a binary knows; cmd/tflab builds it from one line per system,
// without init().
//
// # Design
//
//	cmd/tflab ── sut.NewRegistry(ticketflow.System(), …)
//	               │
//	               ├─ up, serve, status: Services (names, instances, Mains)
//	               ├─ scenarios:         Vocabulary (validation, JSON Schema,
//	               │                     workload block, invariant ids)
//	               ├─ run, suite:        Workload, Probe, Snapshot, Counts,
//	               │                     Queues, InspectionQueues,
//	               │                     Vocabulary.Invariants (the verdict)
//	               ├─ verify:            Vocabulary.Invariants, Counts
//	               └─ --profile:         Variants
//
// A system's plug-in side lives in system/<name> (its System value) and
// system/<name>/lab/... (workload, probe, snapshot, invariants, counts);
// Ticketflow's is the example.
//
// The runner, the generic checkers and the reports know a system only
// through this package's types.
//
// # Best practices
//
//   - One folder per system exports one System value; adding a system is
//     that folder plus one registry line in cmd/tflab.
//   - Validate a System with Validate before registering it; NewRegistry
//     does so and refuses duplicate names.
package sut

// Package sut is the contract between the lab and one system under test: a
// System value bundles the system's services and their Mains, its variants
// (toggles and profiles), its vocabulary, the queues it declares (and those
// it keeps for inspection) and its snapshotter. A Registry holds the
// systems a binary knows; cmd/tflab builds it from one line per system,
// without init().
//
// # Design
//
//	cmd/tflab ── sut.NewRegistry(ticketflow.System(), …)
//	               │
//	               ├─ up, serve, status: Services (names, instances, Mains)
//	               ├─ scenarios:         Vocabulary (validation, JSON Schema)
//	               ├─ run, suite:        Queues, InspectionQueues, Snapshot
//	               └─ --profile:         Variants
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

// Package importrules holds the test of the project's import rules
// (DESIGN.md, "Import rules"), read from `go list`:
//
//   - a system's services never import anomalies/ or scenarios/: faults
//     reach them only through the network, the broker, signals and their
//     own anomaly API. The one exception is a system's root package
//     (system/<name>), which describes the system to the lab as its plug-in
//     value (its vocabulary, snapshot, invariants) and so speaks the
//     scenario packages' types; no service imports it. The packages under
//     system/<name>/lab/ (the system's workload, probe, snapshot and
//     invariants) may import scenarios/ too; no service imports them;
//   - tracing/ depends on OpenTelemetry, amqp091 and itself only.
//
// The package has no code: only its test.
package importrules

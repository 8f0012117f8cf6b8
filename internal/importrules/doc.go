// Package importrules holds the test of the project's import rules
// (DESIGN.md, "Import rules"), read from `go list`:
//
//   - a system's services never import anomalies/ or scenarios/: faults
//     reach them only through the network, the broker, signals and their
//     own anomaly API. The exception is a system's plug-in side: its root
//     package (system/<name>), which describes the system to the lab as its
//     plug-in value, and the packages under system/<name>/lab (its
//     workload, probe, snapshot, invariants and counts), which speak the
//     scenario packages' types; no service imports them;
//   - tracing/ depends on OpenTelemetry, amqp091 and itself only.
//
// The package has no code: only its test.
package importrules

// Package lab is ticketsale's side of the lab's plug-in interface
// (scenarios/sut): it adapts the crowd (workload), the end-to-end probe
// (probe) and the snapshot reader (snapshot) to the lab's Workload, Probe,
// Snapshotter and Counter, and gives the scenario parser the workload
// block's decoder and JSON Schema (WorkloadType).
//
// # Design
//
//	scenario workload: ─▶ WorkloadType.Decode ─▶ *workload.Config
//	runner ─▶ Workload(ctx, cfg, env) ─▶ workload.Run ─▶ []history.Record
//	runner ─▶ Probe(ctx, env, timeout) ─▶ probe.Run  ─▶ []history.Record
//	runner ─▶ Snapshot(ctx, dbs)        ─▶ snapshot.Read (stored as JSON)
//	report ─▶ Counts(history)           ─▶ listed, ordered, paid, stored tickets and orders, charges
//
// A record's Kind is the workload's (signup, ticket.create,
// ticket.update, order.place, order.cancel, payment); its ID the ticket,
// order or payment; Attrs carry outcome, user, ticket, order, price and
// the message of a refusal.
//
// # Best practices
//
//   - Keep this package thin: the behaviour lives in workload, probe and
//     snapshot, which know nothing of the runner.
package lab

// Package workload is ticketsale's crowd: sellers list tickets and reprice
// them, buyers race to order them, then pay, cancel, or let the order
// expire; some pay twice at once, some cancel once paid. It serves
// scenarios (the `workload:` block), `tflab load --system ticketsale` and
// the course's price-update race (200 tickets, each created at 5, updated
// to 10, then 15, all at once).
//
// # Design
//
//	Decode(yaml) ─▶ Config ─▶ NewPlan(cfg, seed) ─▶ Plan ─▶ Run(ctx, client, plan) ─▶ Result{Records, Summary}
//
// Decode reads the block strictly and reports each problem as a
// *FieldError naming the field and its line. NewPlan draws every choice up
// front from the seed (accounts, sellers, titles, prices, racing buyers,
// the action with each order, think times), so the same Config and seed
// always give the same Plan, whatever the concurrency of the run. Run signs
// every account up (or in, when an earlier run made it), then starts each
// ticket's lifecycle at Seq/Rate, at most MaxInFlight at once:
//
//	create ─▶ update… ─▶ racers POST /api/orders together (rounds while 404)
//	       ─▶ per accepted order: pay (twice at once) [─▶ cancel once complete]
//	                             | cancel | leave to expire
//
// Every request becomes a Record (id, kind, time, outcome: accepted for a
// 2xx, rejected for a 4xx, unknown for a transport error or a 5xx), so the
// invariants can hold the system to what it accepted.
//
// # Best practices
//
//   - Give Run a ctx with a deadline: a lifecycle waits at most ReplicaWait
//     per replica it depends on, but the whole run has no bound of its own.
//   - Keep the seed with the result: it replays the same plan.
package workload

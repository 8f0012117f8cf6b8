// Package catalog holds the named scenarios built into tflab: one YAML file
// per scenario (embed.FS), named after the scenario, each with its negative
// control in the same file (`control:`), so a scenario and the proof that it
// can fail are read, reviewed and versioned together.
//
// # Design
//
//	quickstart                 Inquiries' link silent → TF1 without outbox/confirms
//	broker-outage              memory alarm, then broker stop/start → TF1 without outbox/confirms
//	link-outage                Tickets' link silent → TF6 without outbox/confirms
//	latency-jitter             slow confirms, republish → TF2 without dedup
//	bandwidth-squeeze          Tickets' upstream at 1 KB/s, republish → TF2 without dedup
//	reset-during-consume       reset_peer before ack → TF2 without dedup
//	confirm-lost               confirms held back → TF2 without dedup
//	slow-consumer-backlog      in-app delay + connection close → TF2 without dedup
//	poison-to-dlq              in-app error → TF8 without retries
//	consumer-kill              kill -9 while confirms are swallowed → TF2 without dedup
//	consumer-paused            SIGSTOP past the heartbeat → TF2 without dedup
//	sla-partitioned            SLA's link silent mid-computation → TF6 without outbox/confirms
//	reorder-vs-ordering-guard  retry overtaken by later versions → TF3 without ordering
//	broker-memory-alarm        blocked publishers republish → TF2 without dedup
//	clock-skew-sla             SLA clock ahead passes; control skews Inquiries → TF5
//	duplicate-delivery-storm   message proxy: every TicketResolved to Communication twice → TF2 without dedup
//	ack-lost                   message proxy: acks swallowed, then redelivered → TF2 without dedup
//	confirm-dropped            message proxy: confirms swallowed, Tickets republishes → TF2 without dedup
//	reorder-window             message proxy: SLA deliveries shuffled from version 2 → TF3 without ordering
//	reorder-first-version      message proxy: SLA deliveries shuffled from version 1 → TF3 without ordering
//
// Ticketsale's scenarios (`system: ticketsale`; each control switches one
// faithful toggle of the course, judged by TS1–TS13):
//
//	price-update-race              4 orders replicas, ticket:updated reordered → TS13 without versionRule
//	payment-after-expiry           payments' link slow at the first expiry → TS4 without paymentGuards
//	double-charge                  payment:created to orders twice → TS11 without paymentGuards
//	cancel-after-complete          order:created to tickets twice, paid orders cancelled → TS4 without deleteGuards
//	duplicate-order-created        order:created to expiration twice → TS12 without expirationJobId
//	poison-duplicate-update        every 3rd ticket:updated twice → TS10 with the course's version rule
//	reorder-order-events           tickets' deliveries reordered → TS5 without cancelChecksOrderId
//	concurrent-orders-same-ticket  order:created published twice, 4 racers a ticket → TS2 without reserveAtomic
//	crash-before-publish           orders' link down, then orders killed → TS9 without outbox
//	expiration-clock-skew          expiration's clock +1 s passes; control +30 s → TS12
//
// A scenario file is validated against the JSON Schema generated from its
// system's vocabulary (`tflab scenarios schema --system NAME`); the
// committed ../scenario.schema.json is Ticketflow's. `tflab suite` runs
// the default system's (Ticketflow's) scenarios unless --system says
// otherwise; TestTicketsaleCatalogLive (tags integration,scenario) runs
// ticketsale's with their controls.
//
// Cluster scenarios sit beside the catalog as <name>.yaml.cluster (each
// boots a private three-node cluster of its own, so tflab suite leaves
// them out): cluster-partition-quorum, minority-paused, node-kill-quorum,
// leader-node-partitioned (the node leading a queue, leaderOf). The live
// test TestClusterScenariosLive (tags integration,scenario) runs each with
// its control as `tflab run FILE`, two runs at a time
// (TFLAB_CLUSTER_PARALLEL), beside TestTicketsaleCatalogLive.
//
// Workloads are CI-sized (tens of inquiries, seconds of faults). Each
// scenario's evidence names what only its fault can produce. The controls
// are hypotheses about the live system until the runner has confirmed each
// one (see scenarios/README.md).
//
// # Best practices
//
//   - One file per scenario, file name = scenario name; first line points
//     editors at ../scenario.schema.json.
//   - A new scenario needs its control; the catalog test refuses one without.
//   - Keep the seed in the file so that a report can be reproduced with
//     `tflab run NAME` alone.
package catalog

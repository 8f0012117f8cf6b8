// Package workload is the seeded lifecycle generator: it plays customers and
// the service desk against a running Ticketflow through the services' public
// HTTP APIs, and records what it did in the scenario history's own types.
// `tflab load` runs it against a live lab; the scenario runner runs a
// scenario's workload section with it (FromSpec).
//
// # Design
//
//	Plan(cfg, rng) ── every choice drawn up front, in order, from one seeded
//	   │              *rand.Rand: language, text, name, e-mail (VIP on
//	   │              devmentors.io), category, qualify (type, severity),
//	   │              assign (agent), block/unblock (reasons), resolve
//	   ▼              (resolution), and a seed for the lifecycle's own source
//	RunPlan(ctx, cfg, plan)
//	   ├─ submission i at start + i/Rate (MaxInFlight lifecycles at once)
//	   │    POST /inquiries/submit ─▶ id (= ticket id)     tfhistory.Submission
//	   │    GET  /tickets/{id} until it exists and is not
//	   │         WaitingForScheduledAction (translated)    ≤ TicketTimeout
//	   │    POST /tickets/{id}/qualify {ticketType, severityLevel}
//	   │    POST /tickets/{id}/assign/{agent}               tfhistory.Command
//	   │    POST /tickets/{id}/block/{reason}, …/unblock/{reason}
//	   │    POST /tickets/{id}/resolve/{resolution}
//	   ├─ settle: GET /tickets, /inquiries, /anonymous-users/messages until
//	   │    every ticket is translated and (qualified) has its SLA deadline,
//	   │    every resolved inquiry is Resolved and its customer notified, or
//	   │    Settle runs out
//	   └─ Result{Submissions, Commands, Outcomes, Summary}
//
// Randomness: a run's choices depend only on the Config and the seed, never
// on goroutine scheduling — the plan is drawn before anything runs, and each
// lifecycle draws its trace ids and think times from its own source seeded
// by the plan. Every request carries a W3C traceparent with a fresh trace id
// (recorded as the Submission's or Command's TraceID), so a service that
// continues incoming traces links the history to its spans.
//
// Failures are data, not errors: a submission that is not answered 2xx is
// recorded (Accepted false, its status) and never retried, because a retry
// could create a second inquiry; a desk command is retried on a transport
// error or a 5xx (every attempt is a Command), never on a 4xx, and when all
// attempts fail the ticket is read once to see whether it took effect after
// all. A ticket that is not ready within TicketTimeout is "stuck".
//
// Bounds: only loopback http:// endpoints are accepted; every wait has a
// deadline, the whole run is bounded by Timeout, and cancelling ctx stops
// submitting, abandons the lifecycles in flight, reads the state once and
// returns the partial Result with the context's error.
//
// The wire types are declared here (client.go), not imported: scenarios talk
// to the system only through its public HTTP API. The texts (texts.go) are
// service-desk sentences in en, pl, de, es and fr; a test checks every one
// against the services' language detector and translation glossary.
//
// # Best practices
//
//   - Draw a run's randomness once, from one seeded source, before
//     starting goroutines; give each goroutine its own derived source.
//   - Never retry a non-idempotent submission; retry commands whose second
//     attempt the domain refuses harmlessly (resolve twice is a 400).
//   - Measure latencies on the generator's clock, except where only the
//     service knows the time (the closure message's timestamp), and say so.
//   - Keep CI workloads small (tens of inquiries); `tflab load` is for more.
package workload

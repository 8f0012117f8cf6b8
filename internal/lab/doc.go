// Package lab brings a whole lab up and down: the broker, the embedded
// Toxiproxy with one proxy per service instance, the service processes, the
// run directory and its lab.json, and the status other commands read.
//
// # Design
//
//	Start(ctx, Config)
//	  ├─ run dir: lab.json, logs/, traces/, db/, broker/
//	  ├─ broker.Provider.Start ───────────────┐ (boots ~4.5 s; meanwhile:)
//	  ├─ toxihost.Start (API on 127.0.0.1)    │
//	  ├─ plan instances, ports, file paths    │
//	  │                              ◄────────┘
//	  ├─ lab API on 127.0.0.1 (lab_api)
//	  ├─ per instance, chained:
//	  │    service ──► Toxiproxy "<id>-amqp" ──► amqpproxy ──► broker node
//	  │                127.0.0.1:P (amqp_proxy)  127.0.0.1:Q (message_proxy)
//	  ├─ supervisor.Start(tflab serve <system>/<svc> <service.Config.Args()>)
//	  └─ lab.json (rewritten on every process start/exit/pause/resume)
//	WaitHealthy(ctx): polls GET /health of every instance until all answer 200
//	Stop(ctx):        services (SIGTERM, then SIGKILL), lab API, proxies, broker
//
// Every instance's broker path has two proxies. Toxiproxy acts on bytes
// (latency, cuts, resets, bandwidth); the AMQP-aware message proxy
// (anomalies/amqpproxy) acts on frames (duplicate, reorder or delay a
// delivery, drop an ack, drop or delay a confirm, duplicate a publish,
// close a channel). The message proxy is always there: without rules it
// passes frames through (its own cost is about 8 µs per message; the
// package's BenchmarkThroughputChained measures the whole chain), so a
// scenario can install a rule at any moment on connections already open. Its
// randomness is seeded from the lab seed and the instance id.
//
// The lab control API (Info.LabAPI, 127.0.0.1, FixedPorts.LabAPI under
// fixed ports) serves:
//
//	GET    /info                               lab.json's content
//	GET    /services/<id>/faults               the instance's message-fault rules
//	POST   /services/<id>/faults               add a rule (amqpproxy.Rule as JSON)
//	GET    /services/<id>/faults/<rule>        one rule with its counters
//	DELETE /services/<id>/faults[/<rule>]      remove one rule, or all
//	GET    /services/<id>/evidence             faults applied (counts, events)
//	DELETE /services/<id>/evidence             reset them
//
// for example
//
//	curl -X POST $LAB_API/services/communication/faults \
//	     -d '{"fault":"duplicate-delivery","match":{"type":"TicketResolved"},"limit":5}'
//
// Every applied message fault is logged ("Fault applied", with msg_id) and
// appended to logs/message-faults.jsonl with its instance id.
//
// Instances are spread round-robin over the broker's nodes: instance i of
// the plan (in the order of Config.Services) is placed on node i mod N (all
// on the one node of a single-node broker); status shows the placement.
// Instance ids are "<service>" for the first instance and "<service>-N"
// after it; the proxy of "sla-2" is "sla-2-amqp".
//
// On a cluster every instance gets every node's address. Its placement node
// is behind the chain above ("<id>-amqp" → message proxy → node), passed as
// the service's --amqp-url; every other node k gets a Toxiproxy proxy of its
// own, "<id>-amqp-<k>", straight to that node, passed as --amqp-fallback in
// the order placement+1, placement+2, … (wrapping). The messaging layer
// tries them in that order when its node fails. So a Toxiproxy fault on
// "<id>-amqp" cuts the instance off its own node only and it moves to the
// next one (a client-side view of a node loss); cutting it off the broker
// means cutting every "<id>-amqp*" proxy. Message faults act on the
// placement chain only: after a move the instance's frames pass no message
// proxy. One chain per instance (and not per instance and node) keeps the
// lab API's rules and evidence per instance as on one node.
//
// Queue type and partition handling are lab settings (Config.QueueType,
// Config.PartitionHandling): services declare quorum queues for "quorum";
// "mirrored" keeps classic queues and a private broker sets an ha-mode all
// policy on its vhost; partition handling is written into every private
// node's rabbitmq.conf. The default, classic queues and RabbitMQ's own
// partition handling (ignore), changes nothing on one node. Classic queues
// live on the node of their first declarer: when that node dies, they cannot
// be declared again elsewhere, and services depending on them stop
// consuming until it returns.
//
// Every instance of a service opens the same database, db/<service>.sqlite
// (SQLite in WAL mode: several processes on one host may share the file;
// each writes under the file's lock, waiting up to the store's busy
// timeout). Instances are copies of one service, not separate services:
// what one stored (a ticket, an SLA record, the inbox of handled message
// ids, the ordering guard's versions) must be there for the next one that
// handles the same ticket or takes over, e.g. the SLA standby behind
// sla-ticket-changes' single active consumer. The messaging layer keeps one
// outbox relay per database across the processes (its outbox lease). Log
// and span files stay per instance. Readers of lab.json get the same db
// path for each instance of a service and must read it once.
//
// lab.json holds the same data as `tflab status --json`. Other processes find
// a running lab by its lab.json (FindLive): the lab is live while its control
// pid exists with the recorded start time (so a reused pid is not mistaken
// for the lab). Probe adds the live part: each service's GET /health, its
// process state from /proc (paused = 'T'), the broker's AMQP handshake and
// Toxiproxy's API.
//
// Port plans: PortsRandom takes free ports for everything; PortsFixed uses
// FixedPorts (Toxiproxy 8474, broker 21672/21673, service HTTP from 21101,
// proxies from 21201) and fails with ErrPortInUse if one is taken.
//
// # Best practices
//
//   - Always Stop a Lab that Start returned, also after WaitHealthy fails:
//     Stop is idempotent and leaves nothing running.
//   - Drive process anomalies through Supervisor(): lab.json follows every
//     pid change by itself.
//   - Drive message faults through the lab API (another process) or
//     MessageProxy(id) (in process); give every rule an id of your own and
//     remove it in a deferred heal, and read the evidence by that id.
//   - Read status from another process with ReadInfo/FindLive then Probe;
//     never trust lab.json's healthy flags without probing.
package lab

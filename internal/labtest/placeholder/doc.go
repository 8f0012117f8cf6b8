// Package placeholder is a minimal service for the lab's own tests: it
// holds one AMQP connection and answers a health endpoint, and does nothing
// else. Tests of the lab's plumbing (process supervision, network and
// process faults, the console, the runner) run it where a real system's
// services would be too heavy. It is not a system users can choose: the
// tflab binary knows it only when built with the "labtest" tag.
//
// # Design
//
//	test binary (TestMain calls placeholder.TestMain)
//	   │  lab.Config{Command, Env} from placeholder.Command()
//	   └─ <test binary> serve <system>/<service> … ── placeholder.Main
//	        │
//	        ├─ AMQP link ──► its Toxiproxy proxy ──► broker
//	        │    one connection, redialled with capped backoff whenever it
//	        │    closes (a disabled proxy closes it; heartbeats catch a
//	        │    silent link)
//	        │
//	        └─ HTTP GET /health ──► 200 {"ok":true,"amqp":{"connected":true,…}}
//	                               503 {"ok":false,…} while the AMQP link is down
//
// Settings (all optional): "amqp.heartbeat" (Go duration, default 5s),
// "amqp.reconnect_max" (default 1s), the cap of the redial backoff.
//
// # Best practices
//
//   - Health reflects the AMQP link: the lab's status and tests rely on 503
//     while the link is down, so never cache it.
//   - Main returns nil when ctx is cancelled (SIGTERM), after the HTTP server
//     has shut down and the connection is closed.
//   - A test binary that serves through Command must call TestMain from its
//     own TestMain, before anything else.
package placeholder

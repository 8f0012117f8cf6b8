// Package placeholder is the stand-in service that `tflab up` runs until the
// Ticketflow services exist. It proves the lab's plumbing end to end and does
// nothing else.
//
// # Design
//
//	tflab serve ticketflow/placeholder
//	   │
//	   ├─ AMQP link ──► its Toxiproxy proxy ──► broker
//	   │    one connection, redialled with capped backoff whenever it closes
//	   │    (a disabled proxy closes it; heartbeats catch a silent link)
//	   │
//	   └─ HTTP GET /health ──► 200 {"ok":true,"amqp":{"connected":true,…}}
//	                          503 {"ok":false,…} while the AMQP link is down
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
package placeholder

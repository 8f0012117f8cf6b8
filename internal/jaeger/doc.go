// Package jaeger starts a Jaeger all-in-one (bin/jaeger, built by `make
// jaeger` from the tools/jaeger module) beside a lab and reads traces back
// through its query API.
//
// # Design
//
//	Start(ctx, Config) ── writes <Dir>/jaeger.yaml (OTLP/HTTP receiver, in-memory
//	  │                   storage, query API; loopback ports from Config)
//	  └─ supervisor child: bin/jaeger --config file:<Dir>/jaeger.yaml
//	       ├─ OTLPEndpoint()  http://127.0.0.1:<otlp>   ◄── services' span exporters
//	       └─ QueryURL()      http://127.0.0.1:<query>  /api/services, /api/traces
//
// The process is a supervisor child (own process group, Pdeathsig), so it
// dies with tflab. Start returns once the query API answers. The binary built
// from the Go module serves the query API but no web UI; docker-compose.yml
// runs the Jaeger image, which has one.
//
// # Best practices
//
//   - Give ports 0 for free ones (tests, several labs at once); the fixed
//     ports are Jaeger's usual 4318 and 16686.
//   - Spans reach Jaeger in batches: poll the query API with a deadline.
package jaeger

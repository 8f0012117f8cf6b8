// Package service is the contract between the lab and a service process of a
// system under test: the Config a service is started with, how that Config
// travels on the command line, and the Main signature every service
// implements.
//
// # Design
//
// A service runs as a child process of the tflab binary:
//
//	tflab [--log-level L] serve <system>/<service> --instance=1 --amqp-url=... --http-addr=... ...
//	        │                    └─ Config.Args()            ──►  ParseArgs / BindFlags ─┐
//	        └─ built by the lab's supervisor                                             ▼
//	                                                       Main(ctx, cfg, log) of the service
//
// One table of flags (fields in config.go) drives both directions: Args turns
// a Config into argv and BindFlags/ParseArgs turn argv back into a Config, so
// the supervisor and `tflab serve` cannot drift apart. Repeated values
// (AMQPFallbacks, Unprotect, Settings) are one flag occurrence per value.
//
// On a cluster, AMQPURL is the instance's own node and AMQPFallbacks the
// other nodes in the order to try them (--amqp-fallback); QueueType
// (--queue-type) is the type the service declares its queues with. A
// service that uses system/messaging passes both to its bus.
//
// Main runs until ctx is cancelled (SIGTERM or Ctrl-C in the serve process)
// and returns nil on a clean stop. The lab never restarts a service on its own;
// restarts are explicit process anomalies.
//
// # Best practices
//
//   - Read everything a service needs from Config; never read flags or the
//     environment inside a service package (only cmd does).
//   - Put service-specific knobs into Settings ("key=value") rather than new
//     fields, unless every service needs them.
//   - A protection named in Unprotect must be switched off by the service, so
//     a run can prove what breaks without it; unknown names are rejected by
//     Validate.
//   - Log through the injected *slog.Logger; the supervisor sends the
//     process's stderr to Config.LogFile.
package service

// Package otelamqp carries W3C trace context through AMQP headers and names
// the span attributes every publish and handling span carries: the OTel
// messaging semantic-convention keys plus the lab's own (dedup outcome, order
// outcome, redelivered flag, attempt, effect keys).
//
// # Design
//
// HeaderCarrier is amqp.Table viewed as a propagation.TextMapCarrier; values
// are always strings, so any AMQP client can read them. Inject/Extract use
// the W3C trace-context and baggage propagators regardless of the global
// propagator, so a service cannot lose its trace by forgetting to set it.
//
// The attribute names are a contract with the invariant checkers in
// scenarios/: they read spans from files and match on these keys.
package otelamqp

// Package labtest holds helpers for the lab's own tests: broker selection,
// polling with a deadline, test loggers and unique names.
//
// # Broker selection
//
// Integration tests (build tag "integration") always talk to a real
// RabbitMQ, chosen in this order:
//
//  1. LAB_AMQP_URL (plus optional LAB_MANAGEMENT_URL), an external broker.
//     Tests must use unique queue and exchange names (UniqueName).
//  2. A private node started from the installed rabbitmq-server through
//     internal/rabbitnode, once per test binary, lazily on first use, and
//     stopped by Main after m.Run.
//
// If neither is possible the test fails with a message naming both fixes; it
// never passes silently.
//
// # Usage
//
//	func TestMain(m *testing.M) { os.Exit(labtest.Main(m)) }
//
//	func TestX(t *testing.T) {
//		url := labtest.AMQPURL(t)
//		labtest.Eventually(t, 10*time.Second, func() error { ... })
//	}
package labtest

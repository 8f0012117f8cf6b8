// Package wire encodes and decodes AMQP 0-9-1 frames: the frame envelope, the
// method frames the fault proxy acts on, the basic-class content header with
// all fourteen properties, and field tables with every value type RabbitMQ
// and amqp091-go use.
//
// # Design
//
// Two layers, for two kinds of callers:
//
//   - Views (DeliverView, PublishView, AckView, GetOkView, ContentHeaderView,
//     PropertiesView) read the few fields the proxy's hot path needs straight
//     from a frame payload, return sub-slices of it and never allocate. The
//     proxy passes frames it does not change through untouched; when it must
//     rewrite a delivery tag it patches the eight bytes in place with PutUint64
//     at the offset a view reported.
//   - Values (Method implementations, ContentHeader, Properties, Table) are
//     full decoders and encoders used for frames the proxy creates (a
//     translated ack, an injected channel.close) and by tests. Encoding is
//     deterministic: table keys are written in sorted order.
//
// Frame layout (section 4.2.3 of the 0-9-1 specification):
//
//	+------+---------+---------+-------------+-----------+
//	| type | channel |  size   |   payload   | frame-end |
//	|  1   |    2    |    4    | size octets |  1 (0xCE) |
//	+------+---------+---------+-------------+-----------+
//
// Field-table value types follow RabbitMQ's dialect (the errata that
// amqp091-go also follows): t bool, b int8, B uint8, s int16, u uint16,
// I int32, i uint32, l int64, f float32, d float64, D Decimal, S string,
// x []byte, A []any, T time.Time, F Table, V nil.
//
// # Best practices
//
//   - Views return slices into the payload: copy them (string(b)) before the
//     payload's buffer is reused.
//   - Check the frame-end octet (ParseFrame does) before trusting a payload.
//   - Compare decoded values after a second round trip, not bytes of arbitrary
//     input: empty properties and duplicate table keys do not survive
//     re-encoding byte for byte, by design.
package wire

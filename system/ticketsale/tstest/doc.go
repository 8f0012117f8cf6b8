// Package tstest holds helpers for ticketsale's own tests: a store with a
// service's migrations, ticketsale services started in-process against a
// broker, an HTTP client with the session cookie, and publishing and
// capturing events on the events exchange.
//
// # Usage
//
//	db := tstest.Store(t, orders.Migrations)
//	err := tstest.InTx(t, db, func(ctx context.Context, q store.Querier) error { ... })
//
//	url := labtest.VHost(t, labtest.UniqueName(t, "ts"))   // integration tests
//	in := tstest.Start(t, tstest.Config(t, "orders", url, 1, nil), orders.Spec, orders.Wire)
//	user := tstest.NewUser(t, "u1")                        // a signed session
//	code, body := in.Do(t, user, "POST", "/api/orders", orders.OrderBody{TicketID: id})
//	b := tstest.Dial(t, url)                               // raw events
//	ch := b.Capture(t, common.SubjectOrderCreated)
//	b.Publish(t, common.SubjectTicketCreated, "", common.TicketCreated{...})
package tstest

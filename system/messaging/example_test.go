package messaging_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing/fstest"

	"github.com/ticketflow-lab/tflab/system/messaging"
	"github.com/ticketflow-lab/tflab/system/store"
)

// A service declares its topology, registers handlers by message type and
// publishes through the outbox inside the handler's transaction. (Compiled,
// not run: it needs a broker.)
func Example() {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()

	db, err := store.Open(ctx, store.Config{Path: "runs/example/db/tickets.sqlite"})
	if err != nil {
		panic(err)
	}
	defer db.Close()
	schema := store.Migrations{Component: "tickets", FS: fstest.MapFS{
		"0001_tickets.sql": {Data: []byte(`CREATE TABLE tickets (id TEXT PRIMARY KEY, version INTEGER NOT NULL)`)},
	}}
	if err := db.Migrate(ctx, messaging.Migrations, schema); err != nil {
		panic(err)
	}

	prot, err := messaging.ParseProtections([]string{"dedup"}) // from --unprotect
	if err != nil {
		panic(err)
	}
	const inbox = "inquiry-submitted-tickets-service-queue"
	bus, err := messaging.New(messaging.Config{
		Service:     "tickets",
		URL:         "amqp://guest:guest@127.0.0.1:5672/",
		Protections: prot,
		Topology: messaging.Topology{
			Exchanges: []messaging.Exchange{
				{Name: "inquiry-submitted-exchange", Kind: messaging.Direct},
				{Name: "tickets-exchange", Kind: messaging.Topic},
			},
			Queues:   []messaging.Queue{{Name: inbox}},
			Bindings: []messaging.Binding{{Source: "inquiry-submitted-exchange", Destination: inbox}},
		},
	}, db, messaging.WithLogger(slog.Default()))
	if err != nil {
		panic(err)
	}

	bus.Consume(inbox, messaging.ConsumerConfig{Prefetch: 10, Concurrency: 4})
	bus.Handle(inbox, "InquirySubmitted", func(ctx context.Context, tx *messaging.Tx, d *messaging.Delivery) error {
		var in struct {
			ID string `json:"id"`
		}
		if err := d.Decode(&in); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO tickets (id, version) VALUES (?, 1) ON CONFLICT DO NOTHING`, in.ID); err != nil {
			return err
		}
		tx.Effect("ticket:" + in.ID + ":created")
		created, err := messaging.NewMessage("TicketCreated", map[string]any{"id": in.ID, "version": 1})
		if err != nil {
			return err
		}
		// Committed together with the ticket row; relayed after the commit.
		return tx.Publish(ctx, messaging.To("tickets-exchange", "ticket-created"), created.WithAggregate(in.ID, 1))
	})

	if err := bus.Run(ctx); err != nil { // blocks until ctx ends
		panic(err)
	}
}

func ExampleParseProtections() {
	p, err := messaging.ParseProtections([]string{"outbox", "retries"})
	fmt.Println(p, err)
	_, err = messaging.ParseProtections([]string{"idempotency"})
	fmt.Println(err)
	// Output:
	// off: outbox,retries <nil>
	// unknown protection "idempotency": valid names are confirms, outbox, dedup, ordering, retries
}

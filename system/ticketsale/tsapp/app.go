package tsapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/ticketflow-lab/tflab/system/messaging"
	"github.com/ticketflow-lab/tflab/system/runtime"
	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
)

// System is the system name every ticketsale service config carries.
const System = "ticketsale"

// Spec declares what a service adds to the runtime.
type Spec struct {
	// Service is the service's name; cfg.Name must equal it.
	Service string
	// Messaging says whether the service talks to the broker at all
	// (auth and the gateway do not).
	Messaging bool
	// Migrations are the service's own schema sets.
	Migrations []store.Migrations
}

// Handler handles one event inside the handling's transaction. An error
// rolls the transaction back; the event comes back after ackWait.
type Handler func(ctx context.Context, tx *messaging.Tx, d *messaging.Delivery) error

// Runtime is one running ticketsale service instance: the shared
// runtime.Runtime (store, tracing, optional bus, clock, HTTP server, loops)
// with ticketsale's topology, toggles, session verifier and ackWait
// emulation. Build it with New, register listeners, routes and loops, then
// Run once.
type Runtime struct {
	*runtime.Runtime

	spec   Spec
	set    Settings
	signer *common.Signer

	inflight sync.Map // *messaging.Delivery -> *time.Timer (ackWait)
	expired  atomic.Int64
}

// Main runs a ticketsale service: New with spec, then wire (listeners,
// routes, loops), then Run. Errors name the service.
func Main(ctx context.Context, cfg service.Config, log *slog.Logger, spec Spec, wire func(*Runtime) error) error {
	rt, err := New(ctx, cfg, log, spec)
	if err != nil {
		return fmt.Errorf("%s: %w", spec.Service, err)
	}
	if err := wire(rt); err != nil {
		_ = rt.Close()
		return fmt.Errorf("%s: %w", spec.Service, err)
	}
	return rt.Run(ctx)
}

// New builds the shared runtime for spec: with Messaging, a bus declaring
// Topology(group, listens) with Protections and the ackWait retry path.
// Nothing consumes or serves until Run. log nil discards.
func New(ctx context.Context, cfg service.Config, log *slog.Logger, spec Spec) (*Runtime, error) {
	set, err := ParseSettings(cfg)
	if err != nil {
		return nil, err
	}
	rt := &Runtime{spec: spec, set: set}
	if rt.signer, err = common.NewSigner(set.JWTKey); err != nil {
		return nil, err
	}
	rs := runtime.Spec{Service: spec.Service, Migrations: spec.Migrations, Health: rt.health,
		Middleware: rt.signer.CurrentUser,
		JSON: runtime.JSON{Decode: common.DecodeBody, Error: common.WriteError,
			BadRequest: func(msg string) error { return common.BadRequest(msg) }},
		LogAttrs: []any{"toggles", set.Toggles.String(), "ack_wait", set.AckWait}}
	if spec.Messaging {
		prot, err := Protections(cfg, set.Toggles)
		if err != nil {
			return nil, err
		}
		rs.Bus = &runtime.Bus{Topology: Topology(common.GroupOf(spec.Service), common.Listens[spec.Service]),
			Protections: prot, DirectPublish: messaging.DirectAfterCommit,
			Retry: messaging.RetryConfig{MaxAttempts: set.maxAttempts(), Delay: set.AckWait},
			Hooks: messaging.Hooks{BeforeAck: rt.settled}}
	}
	if rt.Runtime, err = runtime.New(ctx, cfg, log, rs); err != nil {
		return nil, err
	}
	rt.HandleFunc("GET /lab/toggles", rt.toggles)
	return rt, nil
}

// Protections returns the messaging protections a ticketsale service runs
// with: the course has no inbox and no per-aggregate guard of the lab (its
// own version rule lives in the handlers), so dedup and ordering are off;
// outbox follows the Outbox toggle; confirms and retries follow
// cfg.Unprotect.
func Protections(cfg service.Config, t common.Toggles) (messaging.Protections, error) {
	ours, _ := messaging.SplitProtections(cfg.Unprotect)
	p, err := messaging.ParseProtections(ours)
	if err != nil {
		return p, err
	}
	p.Dedup, p.Ordering = false, false
	p.Outbox = t.Fixed(common.Outbox)
	return p, nil
}

// Topology is the part of spec C.3's topology a service declares: the
// events exchange, and for every subject it listens to the durable queue
// group.subject bound with the subject's routing key. The messaging layer
// adds each queue's retry and dead-letter companions.
func Topology(group string, listens []string) messaging.Topology {
	t := messaging.Topology{Exchanges: []messaging.Exchange{{Name: common.Exchange, Kind: messaging.Topic}}}
	for _, s := range listens {
		q := common.QueueName(group, s)
		t.Queues = append(t.Queues, messaging.Queue{Name: q})
		t.Bindings = append(t.Bindings, messaging.Binding{Source: common.Exchange, Destination: q, Key: common.RoutingKey(s)})
	}
	return t
}

// Settings are the parsed settings, toggles included.
func (rt *Runtime) Settings() Settings { return rt.set }

// Toggles are the faithful/fixed switches the instance runs with.
func (rt *Runtime) Toggles() common.Toggles { return rt.set.Toggles }

// Signer signs and verifies session JWTs.
func (rt *Runtime) Signer() *common.Signer { return rt.signer }

// AckWaitExpired counts handlings that outlived ackWait (each sent a copy
// of its message back to the queue).
func (rt *Runtime) AckWaitExpired() int64 { return rt.expired.Load() }

// Listen registers h for subject on the service's queue group. Call before
// Run.
func (rt *Runtime) Listen(subject string, h Handler) {
	bus := rt.Bus()
	if bus == nil {
		panic("tsapp: Listen on a service without messaging")
	}
	q := common.QueueName(common.GroupOf(rt.spec.Service), subject)
	bus.Consume(q, messaging.ConsumerConfig{Prefetch: rt.set.MaxInFlight})
	bus.Handle(q, subject, messaging.Handler(h), messaging.AroundTx(messaging.TxHooks{Before: rt.started(q)}))
}

// Publish publishes ev inside tx: to the outbox (Outbox fixed) or right
// after the commit (faithful), routed by its subject, with the aggregate id
// and version in the envelope and an effect key subject:id:version.
func (rt *Runtime) Publish(ctx context.Context, tx *messaging.Tx, ev common.Event) error {
	m, err := messaging.NewMessage(ev.Subject, ev.Payload)
	if err != nil {
		return err
	}
	m = m.WithAggregate(ev.AggregateID, ev.Version)
	if err := tx.Publish(ctx, messaging.To(common.Exchange, common.RoutingKey(ev.Subject)), m); err != nil {
		return err
	}
	tx.Effect(fmt.Sprintf("%s:%s:%d", ev.Subject, ev.AggregateID, ev.Version))
	return nil
}

// PublishAll publishes evs in order (Publish).
func (rt *Runtime) PublishAll(ctx context.Context, tx *messaging.Tx, evs []common.Event) error {
	for _, ev := range evs {
		if err := rt.Publish(ctx, tx, ev); err != nil {
			return err
		}
	}
	return nil
}

// InTx runs fn in one transaction whose publishes commit with it (the
// bus's InTx). With the Outbox toggle faithful the events leave after the
// commit and a failed publish loses them; the course never awaited its
// publishes, so that loss is logged and InTx still returns nil.
func (rt *Runtime) InTx(ctx context.Context, fn func(ctx context.Context, tx *messaging.Tx) error) error {
	bus := rt.Bus()
	if bus == nil {
		return errors.New("tsapp: InTx on a service without messaging; use DB().InTx")
	}
	err := bus.InTx(ctx, fn)
	if errors.Is(err, messaging.ErrLostAfterCommit) {
		rt.Log().Warn("Committed, but its events were lost (outbox faithful)", "err", err)
		return nil
	}
	return err
}

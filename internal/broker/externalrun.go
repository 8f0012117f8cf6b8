package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// ErrVHostInUse reports that an external broker's vhost already holds the
// system's queues and no fresh vhost could be had.
var ErrVHostInUse = errors.New("vhost already holds the system's queues")

// ExternalRun borrows an external broker for one scenario run without
// sharing its topology: with a management URL whose credentials may create
// vhosts, the run gets a fresh vhost of its own (deleted by Stop, with
// everything the run declared in it). Otherwise the run uses the URL's
// vhost, and Start refuses a vhost that already holds one of Queues unless
// Reuse is set.
type ExternalRun struct {
	External External
	// VHost is the fresh vhost's name.
	VHost string
	// Queues are the system's queue names, checked with a passive declare
	// when the run has to use the URL's vhost.
	Queues []string
	// Reuse allows a vhost that already holds the system's queues.
	Reuse bool
	Log   *slog.Logger
}

var _ Provider = ExternalRun{}

// Name implements Provider.
func (ExternalRun) Name() string { return "external" }

// Start implements Provider. dir is unused.
func (e ExternalRun) Start(ctx context.Context, dir string) (Broker, error) {
	log := e.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b, err := e.External.Start(ctx, dir)
	if err != nil {
		return nil, err
	}
	base := b.Nodes()[0]
	var why string
	if base.ManagementURL == "" {
		why = "no --management-url to create a vhost with"
	} else {
		vb, err := (VHost{Base: base, VHost: e.VHost}).Start(ctx, dir)
		if err == nil {
			log.Info("External broker: the run has a vhost of its own, deleted at the end", "vhost", e.VHost)
			return vb, nil
		}
		why = fmt.Sprintf("could not create vhost %s: %v", e.VHost, err)
	}
	u, err := amqp.ParseURI(base.AMQPURL)
	if err != nil {
		return nil, fmt.Errorf("external broker: %w", err)
	}
	if e.Reuse {
		log.Warn("External broker: running in the URL's vhost (--reuse-vhost); the run's queues and exchanges stay behind", "vhost", u.Vhost, "reason", why)
		return b, nil
	}
	held, err := existingQueues(ctx, base.AMQPURL, e.Queues)
	if err != nil {
		return nil, fmt.Errorf("external broker: check vhost %s for the system's queues: %w", u.Vhost, err)
	}
	if len(held) > 0 {
		return nil, fmt.Errorf("%w: vhost %q holds %s (%s). Pass --management-url with credentials that may create vhosts (each run then gets a fresh vhost, deleted at the end), point --amqp-url at an unused vhost, or pass --reuse-vhost to share it",
			ErrVHostInUse, u.Vhost, strings.Join(held, ", "), why)
	}
	log.Warn("External broker: running in the URL's vhost; the run's queues and exchanges stay behind", "vhost", u.Vhost, "reason", why)
	return b, nil
}

// existingQueues returns the names among queues that exist in amqpURL's
// vhost (a passive declare per name, each on its own channel since a
// missing queue closes the channel).
func existingQueues(ctx context.Context, amqpURL string, queues []string) ([]string, error) {
	if len(queues) == 0 {
		return nil, nil
	}
	conn, err := amqp.DialConfig(amqpURL, amqp.Config{Dial: amqp.DefaultDial(5 * time.Second), Properties: amqp.Table{"connection_name": "tflab vhost check"}})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var held []string
	for _, q := range queues {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ch, err := conn.Channel()
		if err != nil {
			return nil, err
		}
		_, err = ch.QueueDeclarePassive(q, false, false, false, false, nil)
		if err == nil {
			held = append(held, q)
			_ = ch.Close()
			continue
		}
		var ae *amqp.Error
		if !errors.As(err, &ae) || ae.Code != amqp.NotFound {
			return nil, fmt.Errorf("passive declare %s: %w", q, err)
		}
	}
	return held, nil
}

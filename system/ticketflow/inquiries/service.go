package inquiries

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketflow/app"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

var _ service.Main = Main

// Settings of the Inquiries service (service.Config.Settings).
const (
	// SettingTranslationsURL and SettingTicketsURL are the bases the sync
	// contrast flow calls (default: the lab's peer-<service>-url settings,
	// else 127.0.0.1 on the services' fixed ports).
	SettingTranslationsURL = "translations-url"
	SettingTicketsURL      = "tickets-url"
	// SettingSyncTimeout bounds each HTTP call of the sync flow (default 10s).
	SettingSyncTimeout = "sync-timeout"
	// CommandSubmitInquirySync names the sync flow's execution (it publishes
	// nothing, so no producer anomaly matches before its transaction).
	CommandSubmitInquirySync = "SubmitInquirySync"
)

// Main runs the Inquiries service: POST /inquiries/submit (one transaction
// with the outbox), the sync contrast flow, the list, and the consumer that
// links inquiries to tickets and follows their resolution.
func Main(ctx context.Context, cfg service.Config, log *slog.Logger) error {
	rt, err := app.New(ctx, cfg, log, app.Spec{Service: contracts.Inquiries, Migrations: []store.Migrations{Migrations}})
	if err != nil {
		return fmt.Errorf("inquiries: %w", err)
	}
	if err := Wire(rt); err != nil {
		_ = rt.Close()
		return fmt.Errorf("inquiries: %w", err)
	}
	return rt.Run(ctx)
}

// Wire registers the Inquiries handlers and routes on rt (Main without Run).
func Wire(rt *app.Runtime) error {
	intake, err := NewIntake()
	if err != nil {
		return err
	}
	intake.NewID = rt.NewID
	intake.PublishV1 = rt.Variant().TranslationV1
	timeout, err := rt.Duration(SettingSyncTimeout, 10*time.Second)
	if err != nil {
		return err
	}
	client := &SyncClient{
		TranslationsURL: settingOr(rt, "http://127.0.0.1:"+strconv.Itoa(contracts.Translations.HTTPPort),
			SettingTranslationsURL, peerSetting(contracts.Translations.Name)),
		TicketsURL: settingOr(rt, "http://127.0.0.1:"+strconv.Itoa(contracts.Tickets.HTTPPort),
			SettingTicketsURL, peerSetting(contracts.Tickets.Name)),
		HTTP: &http.Client{Timeout: timeout},
	}
	w := &wiring{rt: rt, intake: intake, sync: client}
	rt.Handle(contracts.QueueInquiriesTicketCreated, contracts.TypeTicketCreated, w.ticketCreated)
	rt.Handle(contracts.QueueInquiriesTicketCreated, contracts.TypeTicketResolved, w.ticketResolved)
	Register(rt.Mux(), w, NewSQLLister(rt.DB()), rt.Log())
	RegisterSync(rt.Mux(), w, rt.Log())
	return nil
}

// settingOr returns the first non-empty setting of keys, else def.
func settingOr(rt *app.Runtime, def string, keys ...string) string {
	for _, k := range keys {
		if v, ok := rt.Setting(k); ok && v != "" {
			return v
		}
	}
	return def
}

// peerSetting is the key under which the lab passes the HTTP base of a
// service's first instance (internal/lab.PeerSetting; system/ must not
// import internal/, so the spelling is repeated here).
func peerSetting(name string) string { return "peer-" + name + "-url" }

type wiring struct {
	rt     *app.Runtime
	intake *Intake
	sync   SyncCalls
}

var (
	_ Submitter     = (*wiring)(nil)
	_ SyncSubmitter = (*wiring)(nil)
)

// Submit runs Intake.Submit and publishes its messages in one transaction.
func (w *wiring) Submit(ctx context.Context, req SubmitRequest) (*Inquiry, error) {
	var out *Inquiry
	err := w.rt.Exec(ctx, contracts.CommandSubmitInquiry, "", func(ctx context.Context, tx *app.Tx) error {
		q, msgs, err := w.intake.Submit(ctx, NewSQLStore(tx.Store()), req, w.rt.Clock().Now())
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if err := tx.Publish(ctx, m); err != nil {
				return err
			}
		}
		tx.Effect("inquiry:" + q.ID + ":submitted")
		out = q
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SubmitSync runs the contrast flow in one transaction: a downstream failure
// rolls the inquiry back.
func (w *wiring) SubmitSync(ctx context.Context, req SubmitRequest) (*Inquiry, error) {
	var out *Inquiry
	err := w.rt.Exec(ctx, CommandSubmitInquirySync, "", func(ctx context.Context, tx *app.Tx) error {
		q, err := w.intake.SubmitSync(ctx, NewSQLStore(tx.Store()), w.sync, req, w.rt.Clock().Now())
		out = q
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (w *wiring) ticketCreated(ctx context.Context, tx *app.Tx, msg contracts.Message) error {
	m, ok := msg.(contracts.TicketCreated)
	if !ok {
		return fmt.Errorf("ticket created: unexpected %T", msg)
	}
	changed, err := HandleTicketCreated(ctx, NewSQLStore(tx.Store()), m)
	if err != nil {
		return err
	}
	if changed {
		id := m.InquiryID
		if id == "" {
			id = m.ID
		}
		tx.Effect("inquiry:" + id + ":linked")
	}
	return nil
}

func (w *wiring) ticketResolved(ctx context.Context, tx *app.Tx, msg contracts.Message) error {
	m, ok := msg.(contracts.TicketResolved)
	if !ok {
		return fmt.Errorf("ticket resolved: unexpected %T", msg)
	}
	changed, err := HandleTicketResolved(ctx, NewSQLStore(tx.Store()), m)
	if err != nil {
		return err
	}
	if changed {
		tx.Effect("inquiry:" + m.TicketID + ":resolved")
	}
	return nil
}

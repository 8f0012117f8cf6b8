//go:build integration

package app_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/system/ticketflow/anomaly"
	"github.com/ticketflow-lab/tflab/system/ticketflow/app"
	"github.com/ticketflow-lab/tflab/system/ticketflow/app/apptest"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

// TestOutboxErrorOnPublishFiresInTheRelay: with the outbox on, an
// OutboxErrorOnPublish on SLABreached fails a normal execution at the outbox
// write (nothing committed, nothing sent), while a background execution (the
// SLA watcher) commits its row and the relay re-sends it at every round until
// the anomaly is disabled: the repeated-SLA-alert demo of spec §8.6.
func TestOutboxErrorOnPublishFiresInTheRelay(t *testing.T) {
	vh := apptest.NewVHost(t)
	got := vh.Capture(t, contracts.ExchangeAlerting, "#")
	in := apptest.Start(t, vh, contracts.Translations, echo, apptest.Options{})
	if _, err := in.RT.Anomalies().Enable(anomaly.Anomaly{Type: anomaly.OutboxErrorOnPublish, MessageType: contracts.TypeSLABreached}); err != nil {
		t.Fatal(err)
	}
	breach := func(key string) func(ctx context.Context, tx *app.Tx) error {
		return func(ctx context.Context, tx *app.Tx) error {
			return tx.Publish(ctx, contracts.SLABreached{ServiceSourceID: "t-1", AlertMessageContent: "late",
				AlertType: contracts.AlertSLA, AlertKey: key})
		}
	}
	rows := func() int {
		var n int
		if err := in.RT.DB().QueryRow(t.Context(), `SELECT COUNT(*) FROM outbox WHERE type = ?`, contracts.TypeSLABreached).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	err := in.RT.Exec(t.Context(), contracts.CommandDeadlineWatch, "", breach("breach:t-1:1"))
	if !errors.Is(err, anomaly.ErrGenerated) || rows() != 0 {
		t.Fatalf("normal execution: err %v, %d outbox rows; want the anomaly and none", err, rows())
	}

	if err := in.RT.Exec(t.Context(), contracts.CommandDeadlineWatch, "", breach("breach:t-1:2"), app.ExecBackground()); err != nil {
		t.Fatalf("background execution: %v", err)
	}
	var id string
	deadline := time.After(20 * time.Second)
	for copies := 0; copies < 3; {
		select {
		case d := <-got:
			if id != "" && d.MessageId != id {
				t.Fatalf("copy with id %s, want %s", d.MessageId, id)
			}
			id = d.MessageId
			copies++
		case <-deadline:
			t.Fatal("the relay did not re-send the alert three times")
		}
	}
	in.RT.Anomalies().Disable(anomaly.OutboxErrorOnPublish, contracts.TypeSLABreached)
	labtest.Eventually(t, 10*time.Second, func() error {
		var n int
		if err := in.RT.DB().QueryRow(t.Context(), `SELECT COUNT(*) FROM outbox WHERE message_id = ? AND sent_at IS NOT NULL`, id).Scan(&n); err != nil {
			return err
		}
		if n != 1 {
			return fmt.Errorf("row %s not marked sent", id)
		}
		return nil
	})
}

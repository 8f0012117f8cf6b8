//go:build integration

package expiration_test

import (
	"os"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/expiration"
	"github.com/ticketflow-lab/tflab/system/ticketsale/tstest"
)

func TestMain(m *testing.M) { os.Exit(labtest.Main(m)) }

func orderCreated(id string, expires time.Time) common.OrderCreatedEvent {
	return common.OrderCreatedEvent{ID: id, Status: common.OrderCreated, UserID: "u", ExpiresAt: common.FormatTime(expires), Ticket: common.TicketRef{ID: "t1", Price: 1}}
}

func TestExpirationCompleteAtExpiresAt(t *testing.T) {
	url := labtest.VHost(t, labtest.UniqueName(t, "ts"))
	in := tstest.Start(t, tstest.Config(t, common.ServiceExpiration, url, 1, nil), expiration.Spec, expiration.Wire)
	b := tstest.Dial(t, url)
	done := b.Capture(t, common.SubjectExpirationComplete)
	expires := in.RT.Clock().Now().Add(1500 * time.Millisecond)
	b.Publish(t, common.SubjectOrderCreated, "", orderCreated("o1", expires))
	var ev common.ExpirationComplete
	tstest.Receive(t, done, 30*time.Second, &ev)
	if ev.OrderID != "o1" {
		t.Errorf("expiration:complete %+v", ev)
	}
	if now := in.RT.Clock().Now(); now.Before(expires) {
		t.Errorf("expired at %v, before expiresAt %v", now, expires)
	}
}

// Jobs are durable: a job scheduled before a restart runs after it.
func TestJobsSurviveARestart(t *testing.T) {
	url := labtest.VHost(t, labtest.UniqueName(t, "ts"))
	cfg := tstest.Config(t, common.ServiceExpiration, url, 1, nil)
	first := tstest.Start(t, cfg, expiration.Spec, expiration.Wire)
	b := tstest.Dial(t, url)
	done := b.Capture(t, common.SubjectExpirationComplete)
	b.Publish(t, common.SubjectOrderCreated, "", orderCreated("o2", time.Now().Add(4*time.Second)))
	labtest.Eventually(t, 30*time.Second, func() error {
		if n := tstest.Count(t, first.RT.DB(), `SELECT COUNT(*) FROM jobs WHERE order_id = 'o2' AND state = 'waiting'`); n != 1 {
			return tstest.ErrPending
		}
		return nil
	})
	first.Stop(t)
	select {
	case d := <-done:
		t.Fatalf("expired while stopped: %s", d.Body)
	default:
	}
	tstest.Start(t, cfg, expiration.Spec, expiration.Wire)
	var ev common.ExpirationComplete
	tstest.Receive(t, done, 30*time.Second, &ev)
	if ev.OrderID != "o2" {
		t.Errorf("expiration:complete %+v after the restart", ev)
	}
}

// L14: a clock 10 s ahead expires an order 10 s early.
func TestClockSkewShiftsTheWindow(t *testing.T) {
	url := labtest.VHost(t, labtest.UniqueName(t, "ts"))
	tstest.Start(t, tstest.Config(t, common.ServiceExpiration, url, 1, map[string]string{"clock-offset": "10s"}), expiration.Spec, expiration.Wire)
	b := tstest.Dial(t, url)
	done := b.Capture(t, common.SubjectExpirationComplete)
	expires := time.Now().Add(8 * time.Second)
	b.Publish(t, common.SubjectOrderCreated, "", orderCreated("o3", expires))
	tstest.Receive(t, done, 30*time.Second, nil)
	if !time.Now().Before(expires) {
		t.Errorf("a skewed clock expired the order at or after expiresAt")
	}
}

//go:build integration

package course_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketflow/anomaly"
	"github.com/ticketflow-lab/tflab/system/ticketflow/app"
	"github.com/ticketflow-lab/tflab/system/ticketflow/app/apptest"
	"github.com/ticketflow-lab/tflab/system/ticketflow/communication"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
	"github.com/ticketflow-lab/tflab/system/ticketflow/course"
)

func TestMain(m *testing.M) { os.Exit(labtest.Main(m)) }

// startCommunication runs Communication with a profile's protections and
// settings, a poison anomaly on TicketResolved, and one TicketResolved.
func startCommunication(t *testing.T, profile string) *apptest.Instance {
	t.Helper()
	tog, err := course.Variants().Resolve(profile)
	if err != nil {
		t.Fatal(err)
	}
	vh := apptest.NewVHost(t)
	in := apptest.Start(t, vh, contracts.Communication, func(rt *app.Runtime) error {
		communication.Wire(rt)
		return nil
	}, apptest.Options{Unprotect: tog.Unprotect, Settings: tog.Settings, Migrations: []store.Migrations{communication.Migrations}})
	if _, err := in.RT.Anomalies().Enable(anomaly.Anomaly{Type: anomaly.ConsumerErrorBeforeHandler, MessageType: contracts.TypeTicketResolved}); err != nil {
		t.Fatal(err)
	}
	vh.Publish(t, contracts.TicketResolved{TicketID: "t-1", Version: 4, Email: "anna@example.com", Resolution: "done"})
	return in
}

// The course profile's endless requeue (the system on fire): one poisoned
// TicketResolved is nacked with requeue again and again — 200 times within
// the test's deadline, never dead-lettered. The fixed profile gives it three
// attempts and parks it in the dead-letter queue.
func TestCourseProfileRequeuesAPoisonedMessageForever(t *testing.T) {
	t.Run("course", func(t *testing.T) {
		in := startCommunication(t, course.Course)
		labtest.Eventually(t, 30*time.Second, func() error {
			st := in.RT.Bus().Stats()
			if st.DeadLettered != 0 {
				t.Fatalf("dead-lettered %d under the course profile", st.DeadLettered)
			}
			if st.Requeued < 200 {
				return fmt.Errorf("requeued %d times so far", st.Requeued)
			}
			return nil
		})
	})
	t.Run("fixed", func(t *testing.T) {
		in := startCommunication(t, course.Fixed)
		labtest.Eventually(t, 30*time.Second, func() error {
			if st := in.RT.Bus().Stats(); st.DeadLettered != 1 {
				return fmt.Errorf("dead-lettered %d", st.DeadLettered)
			}
			return nil
		})
		if st := in.RT.Bus().Stats(); st.Requeued != 0 || st.HandlerErrors != 3 {
			t.Fatalf("fixed: requeued %d, failed %d times; want 0 and 3 (max-attempts)", st.Requeued, st.HandlerErrors)
		}
	})
}

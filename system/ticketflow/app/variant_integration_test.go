//go:build integration

package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/system/ticketflow/anomaly"
	"github.com/ticketflow-lab/tflab/system/ticketflow/app"
	"github.com/ticketflow-lab/tflab/system/ticketflow/app/apptest"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

// TestPartitionedVariantKeepsATicketInOnePartition declares the
// consistent-hash exchange (the plugin is enabled on the lab's nodes) and
// publishes two events for each of six tickets: every ticket's events land
// in exactly one partition, and the tickets spread over more than one.
func TestPartitionedVariantKeepsATicketInOnePartition(t *testing.T) {
	vh := apptest.NewVHost(t)
	in := apptest.Start(t, vh, contracts.Translations, echo, apptest.Options{
		Settings: map[string]string{app.SettingSLAQueues: contracts.SLAQueuesPartitioned}})
	tickets := []string{"t-1", "t-2", "t-3", "t-4", "t-5", "t-6"}
	for _, id := range tickets {
		err := in.RT.Exec(t.Context(), "test", "", func(ctx context.Context, tx *app.Tx) error {
			if err := tx.Publish(ctx, contracts.TicketQualified{TicketID: id, Version: 2}); err != nil {
				return err
			}
			return tx.Publish(ctx, contracts.TicketResolved{TicketID: id, Version: 3})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	total := func() int {
		n := 0
		for p := 1; p <= 3; p++ {
			n += vh.Depth(t, contracts.SLAPartitionQueue(p))
		}
		return n
	}
	labtest.Eventually(t, 10*time.Second, func() error {
		if n := total(); n != 2*len(tickets) {
			return fmt.Errorf("%d messages in the partitions, want %d", n, 2*len(tickets))
		}
		return nil
	})
	ch := vh.Channel(t)
	where := map[string]map[int]int{} // ticket -> partition -> messages
	used := map[int]bool{}
	for p := 1; p <= 3; p++ {
		for {
			d, ok, err := ch.Get(contracts.SLAPartitionQueue(p), true)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			id, _ := d.Headers["hash-on"].(string)
			if where[id] == nil {
				where[id] = map[int]int{}
			}
			where[id][p]++
			used[p] = true
		}
	}
	for _, id := range tickets {
		if len(where[id]) != 1 {
			t.Errorf("ticket %s spread over partitions %v", id, where[id])
		}
	}
	if len(used) < 2 {
		t.Errorf("six tickets all hashed to partitions %v", used)
	}
}

// TestPublishFaultOnFailure: a poisoned message is dead-lettered after its
// attempts either way; with publish-fault-on-failure on it also goes out as
// Fault.RequestTranslationV2 to the faults queue, off there is no faults queue.
func TestPublishFaultOnFailure(t *testing.T) {
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprintf("on=%v", on), func(t *testing.T) {
			vh := apptest.NewVHost(t)
			set := map[string]string{}
			if on {
				set[app.SettingPublishFault] = "on"
			}
			in := apptest.Start(t, vh, contracts.Translations, echo, apptest.Options{Settings: set})
			if _, err := in.RT.Anomalies().Enable(anomaly.Anomaly{Type: anomaly.ConsumerErrorBeforeHandler, MessageType: contracts.TypeRequestTranslationV2}); err != nil {
				t.Fatal(err)
			}
			id := vh.Publish(t, contracts.RequestTranslationV2{Text: "dzień dobry", LanguageCode: "pl", ReferenceID: "ref-1"})
			labtest.Eventually(t, 15*time.Second, func() error {
				if n := in.RT.Bus().Stats().DeadLettered; n != 1 {
					return fmt.Errorf("dead-lettered %d", n)
				}
				return nil
			})
			if !on {
				if _, err := vh.Channel(t).QueueDeclarePassive(contracts.QueueFaults, true, false, false, false, nil); err == nil {
					t.Fatal("the faults queue exists with the variant off")
				}
				return
			}
			labtest.Eventually(t, 10*time.Second, func() error {
				if n := vh.Depth(t, contracts.QueueFaults); n != 1 {
					return fmt.Errorf("%d faults", n)
				}
				return nil
			})
			d, ok, err := vh.Channel(t).Get(contracts.QueueFaults, true)
			if err != nil || !ok {
				t.Fatalf("get fault: %v %v", ok, err)
			}
			var f contracts.Fault
			if err := json.Unmarshal(d.Body, &f); err != nil {
				t.Fatal(err)
			}
			if d.Type != "Fault.RequestTranslationV2" || d.RoutingKey != "fault.request-translation-v2" ||
				f.FailedOnQueue != contracts.QueueRequestTranslationV2 || f.ExceptionMessage == "" || len(f.FaultedMessage) == 0 {
				t.Fatalf("fault %s %s %+v", d.Type, d.RoutingKey, f)
			}
			if c, _ := d.Headers["causation-id"].(string); c != id {
				t.Errorf("fault caused by %q, want the poisoned message %q", c, id)
			}
		})
	}
}

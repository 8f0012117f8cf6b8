//go:build integration

package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ticketflow-lab/tflab/internal/broker"
	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

// TestRunOnExternalBrokerLeavesNothingBehind runs a scenario against the
// test's private node given only by URL, as a user's broker: with a
// management URL the run works in a vhost of its own that is gone
// afterwards, and the user's vhost stays empty; without one, a vhost that
// holds Ticketflow's queues is refused with exit 3 naming both fixes.
func TestRunOnExternalBrokerLeavesNothingBehind(t *testing.T) {
	node := labtest.SharedBroker(t)
	if node.ManagementURL == "" {
		t.Skip("LAB_AMQP_URL without LAB_MANAGEMENT_URL: the test lists vhosts through the management API")
	}
	ctx := t.Context()
	users, err := broker.VHost{Base: broker.Node{AMQPURL: node.AMQPURL, ManagementURL: node.ManagementURL}, VHost: "users-own"}.Start(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer users.Stop(context.Background())
	usersURL := users.Nodes()[0].AMQPURL

	work := t.TempDir()
	file := filepath.Join(work, "not-started.yaml")
	// The steady state fails before the method: the lab boots, declares
	// its topology and stops without injecting anything.
	src := `name: not-started
description: Boots the lab on the external broker and stops before the method.
workload: {inquiries: 2}
steadyState:
  before:
    - probe: end-to-end
      timeout: 1ms
method:
  - {at: 1s, duration: 1s, type: outage, link: tickets}
evidence: ["connections.reopened > 0"]
`
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"run", file, "--out", filepath.Join(work, "runs"), "--progress=false", "--amqp-url", usersURL}
	stdout, stderr, code := runTflab(t, work, nil, append(args, "--management-url", node.ManagementURL)...)
	if code != int(ExitInconclusive) {
		t.Fatalf("exit %d, want 5 (not started)\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	var vhosts []struct {
		Name string `json:"name"`
	}
	if err := mgmtGet(node.ManagementURL, "/api/vhosts", &vhosts); err != nil {
		t.Fatal(err)
	}
	for _, v := range vhosts {
		if strings.HasPrefix(v.Name, "tflab-run-") {
			t.Errorf("the run's vhost %s is still there", v.Name)
		}
	}
	var queues []struct {
		Name string `json:"name"`
	}
	if err := mgmtGet(node.ManagementURL, "/api/queues/users-own", &queues); err != nil {
		t.Fatal(err)
	}
	if len(queues) > 0 {
		t.Errorf("the run left queues in the user's vhost: %+v", queues)
	}

	// A vhost that already holds Ticketflow's queues, no management URL.
	conn, err := amqp.Dial(usersURL)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	q := contracts.Ticketflow().Queues[0].Name
	if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	stdout, stderr, code = runTflab(t, work, nil, args...)
	if code != int(ExitEnvironment) || !strings.Contains(stderr, q) || !strings.Contains(stderr, "--reuse-vhost") || !strings.Contains(stderr, "--management-url") {
		t.Fatalf("exit %d, want 3 naming %s and both fixes\nstdout:\n%s\nstderr:\n%s", code, q, stdout, stderr)
	}
}

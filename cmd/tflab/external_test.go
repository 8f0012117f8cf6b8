package main

import (
	"strings"
	"testing"
)

func TestReuseVHostNeedsAMQPURL(t *testing.T) {
	_, stderr, code := runInProcess(t, nil, "run", "quickstart", "--reuse-vhost", "--out", t.TempDir())
	if code != ExitUsage || !strings.Contains(stderr, "--reuse-vhost goes with --amqp-url") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
}

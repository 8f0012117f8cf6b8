//go:build integration

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/internal/jaeger"
	"github.com/ticketflow-lab/tflab/internal/labtest"
)

// TestUpJaegerInquiryTrace runs `tflab up --jaeger` with Ticketflow, drives
// Polish inquiries through it, and finds through Jaeger's query API one
// inquiry trace that crosses inquiries, translations and tickets as one
// connected tree.
func TestUpJaegerInquiryTrace(t *testing.T) {
	bin := os.Getenv(jaegerBinEnv)
	if bin == "" {
		t.Skipf("skipping: %s is not set (make test builds bin/jaeger with 'make jaeger' and sets it)", jaegerBinEnv)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s=%s: %v (build it with 'make jaeger')", jaegerBinEnv, bin, err)
	}
	work := t.TempDir()
	u := startUp(t, work, "jaeger", "--system", "ticketflow", "--jaeger")
	u.waitReady(t)

	doc, code := statusJSON(t, work, "--run-dir", u.runDir)
	if code != 0 {
		t.Fatalf("status exit %d", code)
	}
	otlp, query := str(t, doc, "otlp"), str(t, doc, "trace_ui")
	if !strings.HasPrefix(otlp, "http://127.0.0.1:") || !strings.HasPrefix(query, "http://127.0.0.1:") {
		t.Fatalf("otlp %q, trace_ui %q: want loopback URLs of the lab's Jaeger", otlp, query)
	}
	if out := u.stdout.String(); !strings.Contains(out, "Jaeger query") || !strings.Contains(out, "OTLP export") {
		t.Fatalf("up's table does not show the trace endpoints:\n%s", out)
	}

	out, stderr, code := runTflab(t, work, nil, "load", "--run-dir", u.runDir, "--inquiries", "3", "--rate", "5",
		"--languages", "pl", "--settle", "15s", "--seed", "7")
	if code != 0 {
		t.Fatalf("load exit %d\n%s\n%s", code, out, stderr)
	}

	ctx := t.Context()
	want := []string{"inquiries", "translations", "tickets"}
	var found jaeger.Trace
	labtest.Eventually(t, 60*time.Second, func() error {
		services, err := jaeger.Services(ctx, query)
		if err != nil {
			return err
		}
		for _, s := range []string{"inquiries", "translations", "tickets", "communication", "sla", "metrics"} {
			if !slices.Contains(services, s) {
				return fmt.Errorf("service %s not in Jaeger yet (has %v)", s, services)
			}
		}
		traces, err := jaeger.Traces(ctx, query, "inquiries", 50)
		if err != nil {
			return err
		}
		var last error = errors.New("no trace of service inquiries")
		for _, tr := range traces {
			if err := completeTrace(tr, want); err != nil {
				last = fmt.Errorf("trace %s: %w", tr.TraceID, err)
				continue
			}
			found = tr
			return nil
		}
		return last
	})
	// The same trace again by id: the query API serves it whole.
	again, err := jaeger.GetTrace(context.WithoutCancel(ctx), query, found.TraceID)
	if err != nil {
		t.Fatal(err)
	}
	if err := completeTrace(again, want); err != nil {
		t.Fatalf("trace %s by id: %v", found.TraceID, err)
	}
	t.Logf("inquiry trace %s: %d spans across %v", found.TraceID, len(found.Spans), found.Services())
}

// completeTrace reports why tr is not one connected inquiry trace that
// holds spans of every service in want.
func completeTrace(tr jaeger.Trace, want []string) error {
	has := tr.Services()
	for _, s := range want {
		if !slices.Contains(has, s) {
			return fmt.Errorf("no span of %s (services %v)", s, has)
		}
	}
	ids := map[string]bool{}
	for _, s := range tr.Spans {
		ids[s.SpanID] = true
	}
	roots := 0
	for _, s := range tr.Spans {
		parent := ""
		for _, r := range s.References {
			if r.TraceID == tr.TraceID && (r.RefType == "CHILD_OF" || r.RefType == "FOLLOWS_FROM") {
				parent = r.SpanID
				break
			}
		}
		// The entry span's parent is the load driver's request, which
		// sends a traceparent but exports no span: one span may point
		// outside the trace, every other one must point inside it.
		if parent == "" || !ids[parent] {
			roots++
		}
	}
	if roots != 1 {
		return fmt.Errorf("%d spans without a parent in the trace, want 1 (one connected tree)", roots)
	}
	return nil
}

package placeholder

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"testing"

	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/system/service"
)

// serveEnv marks a test binary that Command started as a service.
const serveEnv = "TFLAB_TEST_SERVE_PLACEHOLDER"

// TestMain is a TestMain for a test binary that doubles as the service
// binary of its labs: started through Command, it runs the placeholder
// service and exits; otherwise it runs the tests with labtest.Main and
// returns their exit code.
func TestMain(m *testing.M) int { return TestMainWith(m, nil) }

// TestMainWith is TestMain serving mainFor(service name) instead of the
// placeholder where that returns a Main (mainFor may be nil), so that a
// test binary can also run real services.
func TestMainWith(m *testing.M, mainFor func(name string) service.Main) int {
	if os.Getenv(serveEnv) != "1" || len(os.Args) < 2 || os.Args[1] != "serve" {
		return labtest.Main(m)
	}
	cfg, err := service.ParseArgs(os.Args[2:])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	serve := service.Main(Main)
	if mainFor != nil {
		if m := mainFor(cfg.Name); m != nil {
			serve = m
		}
	}
	if err := serve(ctx, cfg, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// Command returns the argv prefix and environment (lab.Config's Command and
// Env) that start the running test binary as the placeholder service, under
// whatever system and service names the lab gives it. The binary's TestMain
// must call TestMain.
func Command() (argv, env []string) {
	return []string{os.Args[0], "serve"}, append(slices.Clone(os.Environ()), serveEnv+"=1")
}

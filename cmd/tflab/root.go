package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// state is everything commands read from the outside world, so tests can
// run commands in-process with their own streams and environment.
type state struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	logLevel       slog.Level
	logJSON        bool
	// serviceLogLevel, when set, overrides logLevel for the service
	// processes a command starts (run and suite keep their own output quiet).
	serviceLogLevel string
}

func (s *state) logger() *slog.Logger {
	opts := &slog.HandlerOptions{Level: s.logLevel}
	if s.logJSON {
		return slog.New(slog.NewJSONHandler(s.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(s.stderr, opts))
}

// execute runs the command tree and maps the result to an exit code. Panics
// are recovered and never exit 0.
func execute(args []string) (code ExitCode) {
	st := &state{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(st.stderr, "tflab: internal error: %v\n%s", r, debug.Stack())
			code = ExitError
		}
	}()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd(st)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil && isCobraUsageError(err) {
		err = withCode(ExitUsage, fmt.Errorf("%w (see 'tflab --help')", err))
	}
	if err != nil {
		fmt.Fprintf(st.stderr, "tflab: %v\n", err)
	}
	return exitCodeOf(err)
}

func newRootCmd(st *state) *cobra.Command {
	var level string
	root := &cobra.Command{
		Use:   "tflab",
		Short: "Ticketflow Lab: see what outages, duplicates, reordering and partitions do to a real messaging system",
		Long: `Ticketflow Lab runs a complete asynchronous service-desk system on a real RabbitMQ,
every service behind Toxiproxy, injects faults and checks from traces and databases
that deduplication, ordering and "nothing lost" still hold.

Exit codes: 0 pass, 1 error, 2 bad usage/config, 3 environment not usable,
4 invariant violated, 5 inconclusive.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			switch strings.ToLower(level) {
			case "debug":
				st.logLevel = slog.LevelDebug
			case "info", "":
				st.logLevel = slog.LevelInfo
			case "warn":
				st.logLevel = slog.LevelWarn
			case "error":
				st.logLevel = slog.LevelError
			default:
				return usageErrorf("--log-level %q: want debug, info, warn or error", level)
			}
			return nil
		},
	}
	root.SetOut(st.stdout)
	root.SetErr(st.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return withCode(ExitUsage, err) })
	root.PersistentFlags().StringVar(&level, "log-level", "info", "log level: debug, info, warn, error")
	root.PersistentFlags().BoolVar(&st.logJSON, "log-json", false, "log as JSON lines on stderr")
	for _, add := range commands {
		root.AddCommand(add(st))
	}
	return root
}

// commands lists the subcommand constructors; each command file appends its
// own in an init-free way by being listed here.
var commands = []func(*state) *cobra.Command{
	newVersionCmd,
	newUpCmd, newDownCmd, newStatusCmd, newServeCmd, newBenchCmd,
	newLoadCmd,
	newScenariosCmd, newRunCmd, newSuiteCmd, newVerifyCmd,
	newConsoleCmd,
}

// isCobraUsageError recognises cobra's own argument errors, which it returns
// as plain errors.
func isCobraUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least", "requires at most", "invalid argument", "required flag"} {
		if strings.HasPrefix(msg, p) || strings.Contains(msg, " "+p) {
			return exitCodeOf(err) == ExitError
		}
	}
	return false
}

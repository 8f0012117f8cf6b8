package main

import (
	"strings"
	"testing"
)

// TestUpTraceFlags checks --otlp and --jaeger before anything starts: a bad
// URL and the two together are usage errors, and --jaeger without a built
// Jaeger says how to build one (exit 3).
func TestUpTraceFlags(t *testing.T) {
	base := []string{"up", "--ports", "random", "--amqp-url", "amqp://guest:guest@127.0.0.1:1/"}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		code ExitCode
		want string
	}{
		{"not an http url", nil, []string{"--otlp", "127.0.0.1:4318"}, ExitUsage, "want an http(s) URL"},
		{"jaeger and otlp", nil, []string{"--jaeger", "--otlp", "http://127.0.0.1:4318"}, ExitUsage, "drop --otlp"},
		{"jaeger and the variable", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, []string{"--jaeger"}, ExitUsage, "drop --otlp"},
		{"jaeger not built", map[string]string{jaegerBinEnv: t.TempDir() + "/jaeger"}, []string{"--jaeger"}, ExitEnvironment, "make jaeger"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{}, base...), "--run-dir", t.TempDir())
			_, stderr, code := runInProcess(t, tc.env, append(args, tc.args...)...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, want %d with %q; stderr:\n%s", code, tc.code, tc.want, stderr)
			}
		})
	}
}

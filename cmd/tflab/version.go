package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func newVersionCmd(st *state) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print tflab's version, Go version and key dependency versions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(st.stdout, "tflab %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, d := range bi.Deps {
					switch d.Path {
					case "github.com/rabbitmq/amqp091-go", "github.com/Shopify/toxiproxy/v2", "go.opentelemetry.io/otel", "modernc.org/sqlite":
						fmt.Fprintf(st.stdout, "  %s %s\n", d.Path, d.Version)
					}
				}
			}
			return nil
		},
	}
}

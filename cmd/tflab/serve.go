package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/ticketflow/app"
	"github.com/ticketflow-lab/tflab/system/ticketflow/communication"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
	"github.com/ticketflow-lab/tflab/system/ticketflow/course"
	"github.com/ticketflow-lab/tflab/system/ticketflow/inquiries"
	"github.com/ticketflow-lab/tflab/system/ticketflow/metrics/metricsvc"
	"github.com/ticketflow-lab/tflab/system/ticketflow/sla"
	"github.com/ticketflow-lab/tflab/system/ticketflow/tickets"
	"github.com/ticketflow-lab/tflab/system/ticketflow/translations"
)

// system is one system under test: the services `tflab up` runs (in this
// order) and the Main that `tflab serve <system>/<service>` runs for each.
type system struct {
	// note is shown by up and status, e.g. that the system is incomplete.
	note     string
	services []systemService
	// variants are the system's toggles and profiles (--profile, a
	// scenario's profile:); empty: only the default, nothing switched.
	variants service.Variants
}

type systemService struct {
	name string
	// instances is how many `tflab up` starts by default (0 means 1).
	instances int
	// port is the HTTP port of the first instance under --ports fixed
	// (instance n gets port+n-1); 0 takes the lab's generic plan.
	port int
	main service.Main
}

// systems is the table of systems under test. To add a service, add an
// entry; up, serve and status need nothing else. A binary built with the
// "labtest" tag also knows the lab's test systems (labtestSystems).
var systems = withLabtestSystems(map[string]system{
	// Ticketflow (spec: the service desk). Services start in this order, so
	// each one's consumers are up before the next one publishes to them.
	"ticketflow": {
		services: []systemService{
			{name: contracts.Translations.Name, port: contracts.Translations.HTTPPort, main: translations.Main},
			{name: contracts.Tickets.Name, port: contracts.Tickets.HTTPPort, main: tickets.Main},
			{name: contracts.Inquiries.Name, port: contracts.Inquiries.HTTPPort, main: inquiries.Main},
			{name: contracts.Communication.Name, port: contracts.Communication.HTTPPort, main: communication.Main},
			{name: contracts.SLA.Name, port: contracts.SLA.HTTPPort, main: sla.Main},
			{name: contracts.Metrics.Name, port: contracts.Metrics.HTTPPort, main: metricsvc.Main},
		},
		variants: course.Variants(),
	},
})

func systemNames() string {
	names := make([]string, 0, len(systems))
	for n := range systems {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// applyProfile resolves a profile expression of the system and applies it
// to every service spec: its protections off, its settings where a spec
// does not set the key already.
func applyProfile(sys system, expr string, specs []lab.ServiceSpec) error {
	tog, err := sys.variants.Resolve(expr)
	if err != nil {
		return usageErrorf("--profile: %v", err)
	}
	for i := range specs {
		specs[i].Unprotect, specs[i].Settings = tog.ApplyTo(specs[i].Unprotect, specs[i].Settings)
	}
	return nil
}

// applyPlanProfile resolves the plan's profile: its protections are
// switched off in the plan (so the journal shows them) and its settings are
// returned under the explicit ones (--set wins).
func applyPlanProfile(sys system, p *spec.Plan, explicit map[string]string) (map[string]string, error) {
	tog, err := sys.variants.Resolve(p.Profile)
	if err != nil {
		return nil, usageErrorf("scenario %s: %v", p.Scenario, err)
	}
	p.ProfileOff(tog.Unprotect)
	_, settings := tog.ApplyTo(nil, explicit)
	return settings, nil
}

// lookupService returns the Main of <system>/<name>.
func lookupService(sys, name string) (service.Main, error) {
	s, ok := systems[sys]
	if !ok {
		return nil, usageErrorf("unknown system %q (known: %s)", sys, systemNames())
	}
	i := slices.IndexFunc(s.services, func(ss systemService) bool { return ss.name == name })
	if i < 0 {
		var known []string
		for _, ss := range s.services {
			known = append(known, ss.name)
		}
		return nil, usageErrorf("system %s has no service %q (known: %s)", sys, name, strings.Join(known, ", "))
	}
	return s.services[i].main, nil
}

func newServeCmd(st *state) *cobra.Command {
	var cfg service.Config
	cmd := &cobra.Command{
		Use:   "serve <system>/<service>",
		Short: "Run one service of a system under test (started by 'tflab up'; rarely run by hand)",
		Long: `Run one service process. 'tflab up' starts one per service instance with its
own broker address (its Toxiproxy proxy), HTTP address, database, span file and
log file; the flags below are that contract. The service stops cleanly on
SIGTERM or Ctrl-C.`,
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cfg.SetRef(args[0]); err != nil {
				return withCode(ExitUsage, err)
			}
			if err := cfg.Validate(); err != nil {
				return withCode(ExitUsage, fmt.Errorf("serve %s: %w", args[0], err))
			}
			// Spans also go to an OTLP collector when the standard variable
			// names one (services never read the environment themselves).
			if ep := st.getenv("OTEL_EXPORTER_OTLP_ENDPOINT"); ep != "" {
				if _, set := cfg.Settings[app.SettingOTLPEndpoint]; !set {
					if cfg.Settings == nil {
						cfg.Settings = map[string]string{}
					}
					cfg.Settings[app.SettingOTLPEndpoint] = ep
				}
			}
			run, err := lookupService(cfg.System, cfg.Name)
			if err != nil {
				return err
			}
			log := st.logger().With("system", cfg.System, "instance", cfg.Instance)
			if err := run(cmd.Context(), cfg, log); err != nil {
				return fmt.Errorf("service %s: %w", cfg.ID(), err)
			}
			return nil
		},
	}
	cfg.BindFlags(cmd.Flags())
	return cmd
}

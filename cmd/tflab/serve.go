package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
	"github.com/ticketflow-lab/tflab/scenarios/sut"
	"github.com/ticketflow-lab/tflab/system/runtime"
	"github.com/ticketflow-lab/tflab/system/service"
)

// applyProfile resolves a profile expression of the system and applies it
// to every service spec: its protections off, its settings where a spec
// does not set the key already.
func applyProfile(sys sut.System, expr string, specs []lab.ServiceSpec) error {
	tog, err := sys.Variants.Resolve(expr)
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
func applyPlanProfile(sys sut.System, p *spec.Plan, explicit map[string]string) (map[string]string, error) {
	tog, err := sys.Variants.Resolve(p.Profile)
	if err != nil {
		return nil, usageErrorf("scenario %s: %v", p.Scenario, err)
	}
	p.ProfileOff(tog.Unprotect)
	_, settings := tog.ApplyTo(nil, explicit)
	return settings, nil
}

// lookupService returns the Main of <system>/<name>.
func lookupService(sys, name string) (service.Main, error) {
	s, err := systems.Lookup(sys)
	if err != nil {
		return nil, withCode(ExitUsage, err)
	}
	svc, err := s.Service(name)
	if err != nil {
		return nil, withCode(ExitUsage, err)
	}
	return svc.Main, nil
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
				if _, set := cfg.Settings[runtime.SettingOTLPEndpoint]; !set {
					if cfg.Settings == nil {
						cfg.Settings = map[string]string{}
					}
					cfg.Settings[runtime.SettingOTLPEndpoint] = ep
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

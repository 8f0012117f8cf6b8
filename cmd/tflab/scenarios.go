package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ticketflow-lab/tflab/scenarios"
	"github.com/ticketflow-lab/tflab/scenarios/catalog"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
)

func newScenariosCmd(st *state) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "scenarios",
		Short: "List the built-in scenarios or show one",
		Args:  cobra.NoArgs,
	}
	var listSystem string
	list := &cobra.Command{
		Use:   "list",
		Short: "List the built-in scenarios: name, system, tags, what breaks in the negative control",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if listSystem != "" {
				if _, err := lookupSystem("--system", listSystem); err != nil {
					return err
				}
			}
			c, err := loadCatalog()
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(st.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSYSTEM\tTAGS\tCONTROL\tDESCRIPTION")
			for _, name := range c.Names() {
				s, _ := c.Get(name)
				if listSystem != "" && s.System != listSystem {
					continue
				}
				control := "-"
				if s.Control != nil {
					switch {
					case len(s.Control.Unprotect) > 0:
						control = "unprotect " + strings.Join(s.Control.Unprotect, ",")
					case s.Control.Profile != "":
						control = "profile " + s.Control.Profile
					default:
						control = "other method"
					}
					control += " → " + strings.Join(s.Control.Expect.Violated, ",")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", name, s.System, strings.Join(s.Tags, ","), control, firstSentence(s.Description))
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&listSystem, "system", "", "only this system's scenarios ("+systemNames()+")")
	show := &cobra.Command{
		Use:   "show NAME|FILE",
		Short: "Print a scenario file and its plan (the timeline with jitter drawn for its seed)",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			s, src, err := loadScenario(args[0])
			if err != nil {
				return err
			}
			fmt.Fprint(st.stdout, string(src))
			if !strings.HasSuffix(string(src), "\n") {
				fmt.Fprintln(st.stdout)
			}
			for _, control := range []bool{false, true} {
				if control && s.Control == nil {
					continue
				}
				p, err := s.Plan(spec.PlanOptions{Control: control})
				if err != nil {
					return err
				}
				printPlan(st, p)
			}
			return nil
		},
	}
	var schemaSystem string
	schema := &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of scenario files, generated from the systems' vocabularies",
		Long: `Print the JSON Schema (draft 2020-12) of scenario files for editors. The names a
system gives a scenario (services, message types, protections, in-app faults)
come from its vocabulary; without --system the schema accepts every known system.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			vocs := systems.Vocabularies()
			if schemaSystem != "" {
				sys, err := lookupSystem("--system", schemaSystem)
				if err != nil {
					return err
				}
				vocs = spec.Vocabularies{sys.Vocabulary}
			}
			out, err := scenarios.SchemaFor(vocs...)
			if err != nil {
				return err
			}
			_, err = st.stdout.Write(out)
			return err
		},
	}
	schema.Flags().StringVar(&schemaSystem, "system", "", "only this system's names ("+systemNames()+")")
	cmd.AddCommand(list, show, schema)
	return cmd
}

// loadScenario resolves NAME (a catalog scenario) or FILE (a scenario file).
// A malformed file is a usage error (exit 2) listing every error in it, one
// "file:line: message" per line.
func loadScenario(arg string) (*spec.Scenario, []byte, error) {
	c, err := loadCatalog()
	if err != nil {
		return nil, nil, err
	}
	if s, ok := c.Get(arg); ok {
		src, err := catalog.Source(arg)
		return s, src, err
	}
	src, err := os.ReadFile(arg)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, usageErrorf("%q is neither a built-in scenario (%s) nor a file", arg, strings.Join(c.Names(), ", "))
		}
		return nil, nil, usageErrorf("read %s: %v", arg, err)
	}
	s, err := spec.Parse(arg, src, systems.Vocabularies())
	if err != nil {
		return nil, nil, withCode(ExitUsage, scenarioErrors(arg, err))
	}
	return s, src, nil
}

// loadCatalog loads the built-in scenarios; a broken one is a
// configuration error (exit 2) listing every error in it.
func loadCatalog() (*catalog.Catalog, error) {
	c, err := catalog.Load(systems.Vocabularies())
	if err != nil {
		return nil, withCode(ExitUsage, err)
	}
	return c, nil
}

// scenarioErrors heads the errors of one scenario file with their count
// when there are several, so that each "file:line: message" starts a line.
func scenarioErrors(file string, err error) error {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok || len(j.Unwrap()) < 2 {
		return err
	}
	return fmt.Errorf("%s has %d errors:\n%w", file, len(j.Unwrap()), err)
}

func printPlan(st *state, p *spec.Plan) {
	what := "plan"
	if p.Control {
		what = "negative control"
	}
	fmt.Fprintf(st.stdout, "\n# %s (seed %d, method ends at %s)", what, p.Seed, p.End)
	if off := p.Off(); len(off) > 0 {
		fmt.Fprintf(st.stdout, ", protections off: %s", strings.Join(off, ", "))
	}
	if !p.Expect.Pass() {
		fmt.Fprintf(st.stdout, ", must violate %s", strings.Join(p.Expect.Violated, ", "))
	}
	fmt.Fprintln(st.stdout)
	for _, s := range p.Timeline {
		heal := "instant"
		switch {
		case s.HealAt > 0:
			heal = "for " + (s.HealAt - s.At).String() + " in force"
		}
		at := s.At.String()
		if s.When != nil {
			at = "≥" + at
		}
		fmt.Fprintf(st.stdout, "#   %-8s %-28s %s (%s)\n", at, s.Name, s.Action.Describe(), heal)
		if s.When != nil {
			fmt.Fprintf(st.stdout, "#   %-8s %-28s when %s\n", "", "", s.When)
		}
		if s.Until != nil {
			fmt.Fprintf(st.stdout, "#   %-8s %-28s heals once %s (not before that duration)\n", "", "", s.Until)
		}
	}
}

func firstSentence(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if i := strings.Index(s, ". "); i > 0 {
		s = s[:i+1]
	}
	if len(s) > 100 {
		s = s[:97] + "…"
	}
	return s
}

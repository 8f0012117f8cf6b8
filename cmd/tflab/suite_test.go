package main

import (
	"strings"
	"testing"
)

// suite runs the default system's scenarios without --system, one
// system's with it, every system's with all or when scenarios are named.
func TestSuiteScenariosBySystem(t *testing.T) {
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	count := func(system string, named bool) map[string]int {
		t.Helper()
		ss, err := suiteScenarios(c, system, named, nil)
		if err != nil {
			t.Fatalf("--system %q: %v", system, err)
		}
		n := map[string]int{}
		for _, s := range ss {
			n[s.System]++
		}
		return n
	}
	all := map[string]int{}
	for _, name := range c.Names() {
		s, _ := c.Get(name)
		all[s.System]++
	}
	if got := count("", false); len(got) != 1 || got["ticketflow"] != all["ticketflow"] {
		t.Errorf("no --system: %v, want ticketflow's %d", got, all["ticketflow"])
	}
	if got := count("ticketsale", false); len(got) != 1 || got["ticketsale"] != all["ticketsale"] || all["ticketsale"] == 0 {
		t.Errorf("--system ticketsale: %v, want ticketsale's %d", got, all["ticketsale"])
	}
	for _, named := range []bool{false, true} {
		if got := count("all", named); len(got) != 2 || got["ticketflow"] != all["ticketflow"] || got["ticketsale"] != all["ticketsale"] {
			t.Errorf("--system all (named %v): %v, want %v", named, got, all)
		}
	}
	if got := count("", true); got["ticketsale"] != all["ticketsale"] {
		t.Errorf("named scenarios without --system: %v, want every system's to pick from", got)
	}
	if _, err := suiteScenarios(c, "nope", false, nil); exitCodeOf(err) != ExitUsage || !strings.Contains(err.Error(), "ticketsale") {
		t.Errorf("unknown system: %v", err)
	}
}

// A scenario named on the command line must belong to --system; the
// suite refuses before it starts anything.
func TestSuiteRefusesAnotherSystemsScenario(t *testing.T) {
	_, stderr, code := runInProcess(t, nil, "suite", "--system", "ticketflow", "price-update-race")
	if code != ExitUsage || !strings.Contains(stderr, "price-update-race is ticketsale's") {
		t.Errorf("exit %d: %s", code, stderr)
	}
	_, stderr, code = runInProcess(t, nil, "suite", "--system", "nope")
	if code != ExitUsage || !strings.Contains(stderr, "ticketflow, ticketsale") {
		t.Errorf("unknown system: exit %d: %s", code, stderr)
	}
}

// scenarios list --system ticketsale lists only ticketsale's scenarios,
// each control by the profile it switches to and the invariant it breaks.
func TestScenariosListTicketsale(t *testing.T) {
	out, stderr, code := runInProcess(t, nil, "scenarios", "list", "--system", "ticketsale")
	if code != ExitPass {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "profile short-windows,no-version-rule → TS13") || strings.Contains(out, "quickstart") {
		t.Errorf("want price-update-race's control by its profile, and no Ticketflow scenario:\n%s", out)
	}
	out, _, code = runInProcess(t, nil, "scenarios", "show", "price-update-race")
	if code != ExitPass || !strings.Contains(out, "system: ticketsale") || !strings.Contains(out, "# negative control") {
		t.Errorf("show price-update-race: exit %d\n%s", code, out)
	}
}

package spec

// A scenario's `profile:` names the system variant its run starts: a
// profile or comma-separated toggles of the system ("course",
// "fixed,reminders-at-once"; Ticketflow's are in system/ticketflow/course).
// Empty is the system's default. The control's `profile:`, when set,
// replaces it for the control run, so a scenario can pass with the fixed
// behaviour and show the course's quirk in its control. The names are
// checked where the system is known (cmd), not here.
//
// A profile's protections switched off are applied to Plan.Protections by
// the caller that resolves it, so the journal shows them.

// profileFor is the profile of the main run or of the control run.
func (s *Scenario) profileFor(control bool) string {
	if control && s.Control != nil && s.Control.Profile != "" {
		return s.Control.Profile
	}
	return s.Profile
}

// ProfileOff switches the named protections off on every service of the
// plan (a resolved profile's protections).
func (p *Plan) ProfileOff(protections []string) {
	for _, prot := range protections {
		for svc := range p.Protections[prot] {
			p.Protections[prot][svc] = false
		}
	}
}

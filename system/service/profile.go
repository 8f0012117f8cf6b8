package service

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Toggle is one named switch of a system: protections it turns off and
// settings it gives every service of the system (e.g. one quirk of the
// original course system, or a lesson's topology variant).
type Toggle struct {
	Name, Doc string
	// Unprotect lists protections switched off on every service.
	Unprotect []string
	// Settings are set on every service (keys as in Config.Settings).
	Settings map[string]string
}

// Profile is a named set of toggles (e.g. "course": the course's starting
// point; "fixed": none, the lab's default).
type Profile struct {
	Name, Doc string
	Toggles   []string
}

// Variants are a system's toggles and profiles.
type Variants struct {
	Toggles  []Toggle
	Profiles []Profile
}

// DefaultProfile is the profile a lab runs when none is named.
const DefaultProfile = "fixed"

// Validate reports duplicate or malformed names, unknown protections,
// malformed setting keys, two toggles that set one key differently inside a
// profile, and profiles naming unknown toggles.
func (v Variants) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for _, t := range v.Toggles {
		if !namePattern.MatchString(t.Name) || seen[t.Name] {
			errs = append(errs, fmt.Errorf("toggle %q: want a unique lowercase name", t.Name))
		}
		seen[t.Name] = true
		for _, p := range t.Unprotect {
			if !slices.Contains(Protections, p) {
				errs = append(errs, fmt.Errorf("toggle %s: unknown protection %q", t.Name, p))
			}
		}
		for k := range t.Settings {
			if k == "" || strings.ContainsAny(k, "= ,") {
				errs = append(errs, fmt.Errorf("toggle %s: bad setting key %q", t.Name, k))
			}
		}
	}
	for _, p := range v.Profiles {
		if !namePattern.MatchString(p.Name) || seen[p.Name] {
			errs = append(errs, fmt.Errorf("profile %q: want a lowercase name unique among toggles and profiles", p.Name))
		}
		seen[p.Name] = true
		if _, err := v.Resolve(p.Name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (v Variants) toggle(name string) (Toggle, bool) {
	i := slices.IndexFunc(v.Toggles, func(t Toggle) bool { return t.Name == name })
	if i < 0 {
		return Toggle{}, false
	}
	return v.Toggles[i], true
}

func (v Variants) profile(name string) (Profile, bool) {
	i := slices.IndexFunc(v.Profiles, func(p Profile) bool { return p.Name == name })
	if i < 0 {
		return Profile{}, false
	}
	return v.Profiles[i], true
}

// Names lists the profiles, then the toggles, for help and error texts.
func (v Variants) Names() []string {
	var out []string
	for _, p := range v.Profiles {
		out = append(out, p.Name)
	}
	for _, t := range v.Toggles {
		out = append(out, t.Name)
	}
	return out
}

// Resolve turns a profile expression into one combined toggle: a
// comma-separated list of profile and toggle names ("course",
// "fixed,reminders-at-once"). "" is DefaultProfile when the system defines
// it, else no toggle. Two toggles that set one key to different values are
// an error.
func (v Variants) Resolve(expr string) (Toggle, error) {
	expr = strings.TrimSpace(expr)
	if expr == "" {
		if _, ok := v.profile(DefaultProfile); !ok {
			return Toggle{Name: ""}, nil
		}
		expr = DefaultProfile
	}
	out := Toggle{Name: expr, Settings: map[string]string{}}
	from := map[string]string{} // setting key -> toggle that set it
	add := func(t Toggle) error {
		for _, p := range t.Unprotect {
			if !slices.Contains(out.Unprotect, p) {
				out.Unprotect = append(out.Unprotect, p)
			}
		}
		for k, val := range t.Settings {
			if old, ok := out.Settings[k]; ok && old != val {
				return fmt.Errorf("profile %q: toggles %s and %s set %s differently (%q, %q)", expr, from[k], t.Name, k, old, val)
			}
			out.Settings[k], from[k] = val, t.Name
		}
		return nil
	}
	for name := range strings.SplitSeq(expr, ",") {
		name = strings.TrimSpace(name)
		if p, ok := v.profile(name); ok {
			for _, tn := range p.Toggles {
				t, ok := v.toggle(tn)
				if !ok {
					return Toggle{}, fmt.Errorf("profile %s: unknown toggle %q", p.Name, tn)
				}
				if err := add(t); err != nil {
					return Toggle{}, err
				}
			}
			continue
		}
		t, ok := v.toggle(name)
		if !ok {
			return Toggle{}, fmt.Errorf("profile %q: %q is no profile or toggle (known: %s)", expr, name, strings.Join(v.Names(), ", "))
		}
		if err := add(t); err != nil {
			return Toggle{}, err
		}
	}
	slices.Sort(out.Unprotect)
	return out, nil
}

// ApplyTo returns unprotect with t's protections added and settings with
// t's settings added where the key is not set already (so an explicit
// setting wins over the profile's).
func (t Toggle) ApplyTo(unprotect []string, settings map[string]string) ([]string, map[string]string) {
	u := slices.Clone(unprotect)
	for _, p := range t.Unprotect {
		if !slices.Contains(u, p) {
			u = append(u, p)
		}
	}
	s := maps.Clone(settings)
	if s == nil && len(t.Settings) > 0 {
		s = map[string]string{}
	}
	for k, v := range t.Settings {
		if _, set := s[k]; !set {
			s[k] = v
		}
	}
	return u, s
}

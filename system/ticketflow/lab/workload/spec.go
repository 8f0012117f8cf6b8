package workload

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ticketflow-lab/tflab/scenarios/spec"
)

// Spec is Ticketflow's `workload:` block of a scenario file (the lab's
// own key, settle, is not part of it).
type Spec struct {
	Inquiries int     `yaml:"inquiries"` // how many inquiries to submit
	Rate      float64 `yaml:"rate"`      // submissions per second
	// Languages weighs the languages of the generated texts, e.g. {en: 3, pl: 1}.
	Languages map[string]float64 `yaml:"languages"`
	// Shares of tickets the desk qualifies, assigns, blocks and resolves; of
	// customers on the VIP contract (devmentors.io); of incidents among
	// qualified tickets.
	QualifyShare  *float64 `yaml:"qualifyShare"`
	AssignShare   *float64 `yaml:"assignShare"`
	BlockShare    *float64 `yaml:"blockShare"`
	ResolveShare  *float64 `yaml:"resolveShare"`
	VIPShare      *float64 `yaml:"vipShare"`
	IncidentShare *float64 `yaml:"incidentShare"`
	// Think is the desk's longest pause before each command after
	// qualification (uniform in [0, Think), seeded); 0 acts at once. It
	// spreads a ticket's later versions over seconds, so that a fault in the
	// middle of the run meets desk commands in flight.
	Think spec.Duration `yaml:"think"`
	// HoldDesk makes the desk's commands after qualification wait, each
	// ticket's before its first pause, for the scenario's workload.hold
	// too (which gates only the submissions otherwise), so that they meet
	// a fault however long it took to come into force.
	HoldDesk bool `yaml:"holdDesk"`
}

// DefaultRate is the submission rate of a block without rate.
const DefaultRate = 5.0

var langRE = regexp.MustCompile(`^[a-z]{2,3}$`)

// Span is how long the submissions take at the block's rate.
func (w *Spec) Span() time.Duration {
	return time.Duration(float64(w.Inquiries) / w.Rate * float64(time.Second))
}

// share returns *p, or def when unset.
func share(p *float64, def float64) float64 {
	if p == nil {
		return def
	}
	return *p
}

// Type is Ticketflow's workload block for the scenario parser and schema.
func Type() *spec.WorkloadType {
	share := map[string]any{"type": "number", "minimum": 0, "maximum": 1}
	return &spec.WorkloadType{
		Holds:    true,
		Required: []string{"inquiries"},
		Properties: map[string]any{
			"inquiries": map[string]any{"type": "integer", "minimum": 1, "maximum": 1000000},
			"rate": map[string]any{"type": "number", "exclusiveMinimum": 0, "maximum": 10000,
				"description": "submissions per second (default 5)"},
			"languages": map[string]any{"type": "object", "propertyNames": map[string]any{"pattern": "^[a-z]{2,3}$"},
				"additionalProperties": map[string]any{"type": "number", "exclusiveMinimum": 0}},
			"qualifyShare": share, "assignShare": share, "blockShare": share, "resolveShare": share,
			"vipShare": share, "incidentShare": share,
			"think": map[string]any{"$ref": "#/$defs/duration",
				"description": "the desk's longest pause before each command after qualification (default 0: at once)"},
			"holdDesk": map[string]any{"type": "boolean",
				"description": "the desk's commands after qualification also wait for workload.hold's condition (needs a hold)"},
		},
		Decode: decodeSpec,
	}
}

// decodeSpec decodes and validates the block; errors carry their lines.
func decodeSpec(n *yaml.Node) (spec.WorkloadConfig, error) {
	w := &Spec{}
	lines, err := spec.DecodeBlock(n, "workload", w)
	if err != nil {
		return nil, err
	}
	line := func(key string) int {
		if l, ok := lines["workload."+key]; ok {
			return l
		}
		return n.Line
	}
	if w.Rate == 0 {
		w.Rate = DefaultRate
	}
	if len(w.Languages) == 0 {
		w.Languages = map[string]float64{"en": 1}
	}
	var errs []error
	errorf := func(key, format string, args ...any) {
		errs = append(errs, spec.FieldError(line(key), "workload."+key, format, args...))
	}
	if w.Inquiries < 1 || w.Inquiries > 1_000_000 {
		errorf("inquiries", "want 1 to 1000000 inquiries, got %d", w.Inquiries)
	}
	if w.Rate <= 0 || w.Rate > 10_000 {
		errorf("rate", "want a rate in (0, 10000] per second, got %g", w.Rate)
	}
	for _, lang := range slices.Sorted(maps.Keys(w.Languages)) {
		if !langRE.MatchString(lang) {
			errorf("languages."+lang, "want an ISO 639 language code such as en or pl, got %q", lang)
		}
		if w.Languages[lang] <= 0 {
			errorf("languages."+lang, "weight must be positive, got %g", w.Languages[lang])
		}
	}
	for _, sh := range []struct {
		name string
		p    *float64
	}{{"qualifyShare", w.QualifyShare}, {"assignShare", w.AssignShare}, {"blockShare", w.BlockShare},
		{"resolveShare", w.ResolveShare}, {"vipShare", w.VIPShare}, {"incidentShare", w.IncidentShare}} {
		if sh.p != nil && (*sh.p < 0 || *sh.p > 1) {
			errorf(sh.name, "a share is between 0 and 1, got %g", *sh.p)
		}
	}
	if w.Think < 0 {
		errorf("think", "must not be negative")
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return w, nil
}

// FromSpec turns a scenario's workload block into a Config, with
// DefaultShares for the shares it leaves unset. Endpoints and the runtime
// knobs are left for the caller.
func FromSpec(w *Spec, settle time.Duration) Config {
	d := DefaultShares
	return Config{
		Inquiries: w.Inquiries,
		Rate:      w.Rate,
		Languages: maps.Clone(w.Languages),
		Shares: Shares{
			Qualify:  share(w.QualifyShare, d.Qualify),
			Assign:   share(w.AssignShare, d.Assign),
			Block:    share(w.BlockShare, d.Block),
			Resolve:  share(w.ResolveShare, d.Resolve),
			VIP:      share(w.VIPShare, d.VIP),
			Incident: share(w.IncidentShare, d.Incident),
		},
		Settle: settle,
		Think:  time.Duration(w.Think),
	}
}

// specOf asserts a plan's decoded block to Ticketflow's.
func specOf(cfg spec.WorkloadConfig) (*Spec, error) {
	w, ok := cfg.(*Spec)
	if !ok || w == nil {
		return nil, fmt.Errorf("workload: want Ticketflow's block, got %T", cfg)
	}
	return w, nil
}

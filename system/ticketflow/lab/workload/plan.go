package workload

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Planned is everything the generator will do with one inquiry, drawn up
// front from the seeded source so that concurrency cannot change a run's
// choices: the same Config and seed always give the same plan.
type Planned struct {
	Seq int           `json:"seq"` // 0-based submission order
	At  time.Duration `json:"at"`  // submission offset from the start (Seq/Rate)

	Language    string `json:"language"`
	Name        string `json:"name"`
	Email       string `json:"email"`
	VIP         bool   `json:"vip,omitempty"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Category    string `json:"category"` // lowercase, as the portal sends it

	Qualify  bool   `json:"qualify,omitempty"`
	Type     string `json:"type,omitempty"`     // Incident | Question
	Severity string `json:"severity,omitempty"` // Low | Medium | High | Critical
	Assign   bool   `json:"assign,omitempty"`
	// Agent picks the agent: index into GET /agents (sorted by id), modulo its length.
	Agent         int    `json:"agent,omitempty"`
	Block         bool   `json:"block,omitempty"`
	BlockReason   string `json:"blockReason,omitempty"`
	UnblockReason string `json:"unblockReason,omitempty"`
	Resolve       bool   `json:"resolve,omitempty"`
	Resolution    string `json:"resolution,omitempty"`

	// Seed seeds this lifecycle's own source (trace ids, think times).
	Seed uint64 `json:"seed"`
}

// Plan draws the whole workload from rng. It validates cfg first.
func Plan(cfg Config, rng *rand.Rand) ([]Planned, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if rng == nil {
		return nil, fmt.Errorf("workload plan: a seeded *rand.Rand is required")
	}
	langs := slices.Sorted(maps.Keys(cfg.Languages)) // map order must not leak into the draws
	var total float64
	for _, l := range langs {
		total += cfg.Languages[l]
	}
	sh := cfg.Shares
	out := make([]Planned, cfg.Inquiries)
	for i := range out {
		p := Planned{Seq: i, At: time.Duration(float64(i) / cfg.Rate * float64(time.Second))}
		p.Language = pickWeighted(rng, langs, cfg.Languages, total)
		ph := corpus[p.Language]
		prob := rng.IntN(len(ph.problems))
		p.Title = ph.titles[rng.IntN(len(ph.titles))]
		p.Description = ph.problems[prob] + " " + ph.closings[rng.IntN(len(ph.closings))]
		p.Category = problemCategory[prob%len(problemCategory)]
		first, last := firstNames[rng.IntN(len(firstNames))], lastNames[rng.IntN(len(lastNames))]
		p.Name = first + " " + last
		p.VIP = rng.Float64() < sh.VIP
		domain := customerDomains[rng.IntN(len(customerDomains))]
		if p.VIP {
			domain = VIPDomain
		}
		p.Email = fmt.Sprintf("%s.%s.%d@%s", asciiLower(first), asciiLower(last), i+1, domain)
		if p.Qualify = rng.Float64() < sh.Qualify; p.Qualify {
			p.Type = "Question"
			if rng.Float64() < sh.Incident {
				p.Type = "Incident"
			}
			p.Severity = pickWeighted(rng, severities, severityWeights, 1)
			p.Assign = rng.Float64() < sh.Assign
			p.Agent = rng.IntN(1 << 16)
			if p.Block = rng.Float64() < sh.Block; p.Block {
				p.BlockReason = blockReasons[rng.IntN(len(blockReasons))]
				p.UnblockReason = unblockReasons[rng.IntN(len(unblockReasons))]
			}
		}
		if p.Resolve = rng.Float64() < sh.Resolve; p.Resolve {
			p.Resolution = resolutions[rng.IntN(len(resolutions))]
		}
		p.Seed = rng.Uint64()
		out[i] = p
	}
	return out, nil
}

func pickWeighted(rng *rand.Rand, keys []string, w map[string]float64, total float64) string {
	x := rng.Float64() * total
	for _, k := range keys {
		if x < w[k] {
			return k
		}
		x -= w[k]
	}
	return keys[len(keys)-1]
}

var (
	severities      = []string{"Critical", "High", "Low", "Medium"} // sorted: pickWeighted walks keys in order
	severityWeights = map[string]float64{"Low": 0.4, "Medium": 0.3, "High": 0.2, "Critical": 0.1}
	// problemCategory is the category of corpus problem i (the problems are
	// parallel across languages).
	problemCategory = []string{"technical", "billing", "technical", "general", "technical", "technical", "billing", "other"}
	firstNames      = []string{"Anna", "Jan", "Maria", "Piotr", "Lukas", "Sophie", "Carlos", "Lucía", "Camille", "Louis", "Emma", "Oliver"}
	lastNames       = []string{"Nowak", "Kowalski", "Müller", "Schmidt", "García", "López", "Martin", "Dubois", "Smith", "Brown"}
	customerDomains = []string{"example.com", "example.org", "example.net"}
	blockReasons    = []string{"waiting for customer", "waiting for vendor", "needs more information"}
	unblockReasons  = []string{"customer replied", "vendor answered", "information received"}
	resolutions     = []string{"password reset", "invoice corrected", "driver reinstalled", "account unlocked", "server restarted", "refund issued"}
)

// asciiLower folds a name to a lowercase ASCII e-mail part.
func asciiLower(s string) string {
	r := strings.NewReplacer("ü", "u", "í", "i", "ú", "u", "é", "e", "á", "a", "ó", "o", "ł", "l", "ś", "s", "ż", "z")
	return strings.ToLower(r.Replace(s))
}

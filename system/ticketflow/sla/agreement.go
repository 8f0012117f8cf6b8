package sla

import (
	"fmt"
	"strings"
	"time"

	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

// Tier of a client (original ints: Standard=0, Premium=1, VIP=2).
type Tier string

// Tiers.
const (
	TierStandard Tier = "Standard"
	TierPremium  Tier = "Premium"
	TierVIP      Tier = "VIP"
)

// Deadlines maps service type → severity → agreed response time.
type Deadlines map[contracts.ServiceType]map[contracts.Severity]time.Duration

// Agreement is a signed SLA of one customer e-mail domain (SignedSLAs).
type Agreement struct {
	CompanyName string
	Domain      string // the text after '@' in the customer's e-mail, exact match (case-insensitive here)
	Tier        Tier
	Deadlines   Deadlines
}

func bothTypes(low, medium, high, critical time.Duration) Deadlines {
	per := func() map[contracts.Severity]time.Duration {
		return map[contracts.Severity]time.Duration{
			contracts.SeverityLow: low, contracts.SeverityMedium: medium,
			contracts.SeverityHigh: high, contracts.SeverityCritical: critical,
		}
	}
	return Deadlines{contracts.ServiceIncidentTicket: per(), contracts.ServiceQuestionTicket: per()}
}

// SeedAgreements returns the original seed: DevMentors, devmentors.io, VIP,
// Low 30 min, Medium 15, High 3, Critical 1 for incidents and questions.
func SeedAgreements() []Agreement {
	return []Agreement{{
		CompanyName: "DevMentors", Domain: "devmentors.io", Tier: TierVIP,
		Deadlines: bothTypes(30*time.Minute, 15*time.Minute, 3*time.Minute, time.Minute),
	}}
}

// DefaultAgreement applies when no signed SLA matches: Standard tier, Low
// 7 days, Medium 3 days, High 1 day, Critical 1 hour (Defaults.cs).
func DefaultAgreement() Agreement {
	return Agreement{CompanyName: "", Domain: "", Tier: TierStandard,
		Deadlines: bothTypes(7*24*time.Hour, 3*24*time.Hour, 24*time.Hour, time.Hour)}
}

// Catalog finds the agreement of a customer.
type Catalog struct {
	agreements []Agreement
	fallback   Agreement
}

// NewCatalog returns a catalog of the given agreements (SeedAgreements when
// none) with DefaultAgreement as the fallback.
func NewCatalog(agreements ...Agreement) Catalog {
	if len(agreements) == 0 {
		agreements = SeedAgreements()
	}
	return Catalog{agreements: agreements, fallback: DefaultAgreement()}
}

// Domain returns the e-mail domain (after the last '@'), lowercase.
func Domain(email string) string {
	i := strings.LastIndexByte(email, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(email[i+1:]))
}

// For returns the agreement of the e-mail's domain, or the default.
func (c Catalog) For(email string) Agreement {
	d := Domain(email)
	for _, a := range c.agreements {
		if d != "" && strings.EqualFold(a.Domain, d) {
			return a
		}
	}
	return c.fallback
}

// Duration is the agreed response time of (service type, severity) for the
// e-mail's customer. A missing or zero duration falls back to the default
// agreement; ok is false when neither has the service type (no deadline).
func (c Catalog) Duration(email string, st contracts.ServiceType, sev contracts.Severity) (d time.Duration, tier Tier, ok bool) {
	a := c.For(email)
	if per, found := a.Deadlines[st]; found {
		if d := per[sev]; d > 0 {
			return d, a.Tier, true
		}
	}
	if per, found := c.fallback.Deadlines[st]; found {
		if d := per[sev]; d > 0 {
			return d, c.fallback.Tier, true
		}
	}
	return 0, a.Tier, false
}

// Validate reports agreements without a domain or with non-positive durations.
func (c Catalog) Validate() error {
	for _, a := range c.agreements {
		if a.Domain == "" {
			return fmt.Errorf("agreement %q: domain is required", a.CompanyName)
		}
		for st, per := range a.Deadlines {
			for sev, d := range per {
				if d < 0 {
					return fmt.Errorf("agreement %s: %s/%s: negative duration %v", a.Domain, st, sev, d)
				}
			}
		}
	}
	return nil
}

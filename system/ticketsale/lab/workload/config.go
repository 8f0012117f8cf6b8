package workload

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ticketflow-lab/tflab/scenarios/spec"
)

// Config is ticketsale's `workload:` block: a crowd of sellers and buyers.
// Zero values take the defaults named on each field; a share left out
// takes its default, a share written 0 means never.
type Config struct {
	// Users is how many buyers sign up (default 10; 0 allowed when no
	// ticket is ordered).
	Users int `yaml:"users" json:"users"`
	// Sellers is how many sellers sign up and list tickets (default 2).
	Sellers int `yaml:"sellers" json:"sellers"`
	// Tickets is how many tickets are listed, one lifecycle each
	// (default 20).
	Tickets int `yaml:"tickets" json:"tickets"`
	// Rate is lifecycles started per second (default 5).
	Rate float64 `yaml:"rate" json:"rate"`
	// Prices, when set, is every ticket's price history: created at
	// Prices[0], then updated to each following price in turn (the course's
	// experiment is [5, 10, 15]). Unset: a drawn price and PriceUpdates
	// drawn updates.
	Prices []float64 `yaml:"prices" json:"prices,omitempty"`
	// PriceUpdates is how many drawn price updates a ticket gets before it
	// is ordered (default 1; only without Prices).
	PriceUpdates *int `yaml:"priceUpdates" json:"priceUpdates,omitempty"`
	// OrderShare is the share of tickets ordered (default 1).
	OrderShare *float64 `yaml:"orderShare" json:"orderShare,omitempty"`
	// Racers is how many buyers order each ordered ticket at the same
	// moment (default 1: no race).
	Racers int `yaml:"racers" json:"racers"`
	// PayShare is the share of orders their buyer pays (default 0.6).
	PayShare *float64 `yaml:"payShare" json:"payShare,omitempty"`
	// CancelShare is the share of orders their buyer cancels unpaid
	// (default 0.2). The rest are left to expire; PayShare + CancelShare
	// must not exceed 1.
	CancelShare *float64 `yaml:"cancelShare" json:"cancelShare,omitempty"`
	// DoublePayShare is the share of paid orders paid twice at once, as a
	// client retrying (default 0).
	DoublePayShare *float64 `yaml:"doublePayShare" json:"doublePayShare,omitempty"`
	// CancelPaidShare is the share of paid orders their buyer cancels once
	// complete (default 0).
	CancelPaidShare *float64 `yaml:"cancelPaidShare" json:"cancelPaidShare,omitempty"`
	// Think is the longest pause before each step of a lifecycle (uniform
	// in [0, Think), drawn in the plan); 0 acts at once.
	Think spec.Duration `yaml:"think" json:"think,omitempty"`
	// ReplicaWait bounds how long a buyer retries an order or a payment
	// answered 404 while the replica catches up (default 30s).
	ReplicaWait spec.Duration `yaml:"replicaWait" json:"replicaWait,omitempty"`
	// MaxInFlight bounds concurrent lifecycles (default 64).
	MaxInFlight int `yaml:"maxInFlight" json:"maxInFlight"`
}

// Defaults of Config.
const (
	DefaultUsers        = 10
	DefaultSellers      = 2
	DefaultTickets      = 20
	DefaultRate         = 5
	DefaultPriceUpdates = 1
	DefaultOrderShare   = 1.0
	DefaultPayShare     = 0.6
	DefaultCancelShare  = 0.2
	DefaultReplicaWait  = 30 * time.Second
	DefaultMaxInFlight  = 64
)

// Limits of Config.
const (
	MaxUsers   = 100_000
	MaxTickets = 1_000_000
	MaxRate    = 10_000
	MaxRacers  = 64
	MaxUpdates = 100
	MaxPrice   = 1_000_000
)

// share returns *p, or def when unset.
func share(p *float64, def float64) float64 {
	if p == nil {
		return def
	}
	return *p
}

// WithDefaults returns c with every unset field at its default.
func (c Config) WithDefaults() Config {
	if c.Users == 0 && share(c.OrderShare, DefaultOrderShare) > 0 {
		c.Users = DefaultUsers
	}
	if c.Sellers == 0 {
		c.Sellers = DefaultSellers
	}
	if c.Tickets == 0 {
		c.Tickets = DefaultTickets
	}
	if c.Rate == 0 {
		c.Rate = DefaultRate
	}
	if c.Racers == 0 {
		c.Racers = 1
	}
	if c.ReplicaWait == 0 {
		c.ReplicaWait = spec.Duration(DefaultReplicaWait)
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	set := func(p **float64, v float64) {
		if *p == nil {
			*p = &v
		}
	}
	set(&c.OrderShare, DefaultOrderShare)
	set(&c.PayShare, DefaultPayShare)
	set(&c.CancelShare, DefaultCancelShare)
	set(&c.DoublePayShare, 0)
	set(&c.CancelPaidShare, 0)
	if c.PriceUpdates == nil && len(c.Prices) == 0 {
		n := DefaultPriceUpdates
		c.PriceUpdates = &n
	}
	return c
}

// FieldError is a problem with one field of the workload block.
type FieldError struct {
	Field string // the YAML name, e.g. "payShare"
	Line  int    // 0 when not known
	Msg   string
}

func (e *FieldError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: workload.%s: %s", e.Line, e.Field, e.Msg)
	}
	return fmt.Sprintf("workload.%s: %s", e.Field, e.Msg)
}

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Validate reports every field out of range, each as a *FieldError.
func (c Config) Validate() error {
	var errs []error
	between := func(field string, v, lo, hi float64) {
		if math.IsNaN(v) || v < lo || v > hi {
			errs = append(errs, fieldErr(field, "must be between %g and %g, got %g", lo, hi, v))
		}
	}
	if c.Users < 0 || c.Users > MaxUsers {
		errs = append(errs, fieldErr("users", "must be between 0 and %d, got %d", MaxUsers, c.Users))
	}
	if c.Sellers < 1 || c.Sellers > MaxUsers {
		errs = append(errs, fieldErr("sellers", "must be between 1 and %d, got %d", MaxUsers, c.Sellers))
	}
	if c.Tickets < 1 || c.Tickets > MaxTickets {
		errs = append(errs, fieldErr("tickets", "must be between 1 and %d, got %d", MaxTickets, c.Tickets))
	}
	if math.IsNaN(c.Rate) || c.Rate <= 0 || c.Rate > MaxRate {
		errs = append(errs, fieldErr("rate", "must be above 0 and at most %d per second, got %g", MaxRate, c.Rate))
	}
	if len(c.Prices) > MaxUpdates+1 {
		errs = append(errs, fieldErr("prices", "at most %d prices", MaxUpdates+1))
	}
	for i, p := range c.Prices {
		if math.IsNaN(p) || p <= 0 || p > MaxPrice {
			errs = append(errs, fieldErr("prices", "price %d must be above 0 and at most %d, got %g", i+1, MaxPrice, p))
		}
	}
	if c.PriceUpdates != nil {
		if len(c.Prices) > 0 {
			errs = append(errs, fieldErr("priceUpdates", "give either prices or priceUpdates, not both"))
		} else if *c.PriceUpdates < 0 || *c.PriceUpdates > MaxUpdates {
			errs = append(errs, fieldErr("priceUpdates", "must be between 0 and %d, got %d", MaxUpdates, *c.PriceUpdates))
		}
	}
	if c.Racers < 1 || c.Racers > MaxRacers {
		errs = append(errs, fieldErr("racers", "must be between 1 and %d, got %d", MaxRacers, c.Racers))
	}
	shares := []struct {
		field string
		p     *float64
	}{{"orderShare", c.OrderShare}, {"payShare", c.PayShare}, {"cancelShare", c.CancelShare},
		{"doublePayShare", c.DoublePayShare}, {"cancelPaidShare", c.CancelPaidShare}}
	for _, s := range shares {
		if s.p != nil {
			between(s.field, *s.p, 0, 1)
		}
	}
	if pay, cancel := share(c.PayShare, 0), share(c.CancelShare, 0); pay >= 0 && pay <= 1 && cancel >= 0 && cancel <= 1 && pay+cancel > 1+1e-9 {
		errs = append(errs, fieldErr("cancelShare", "payShare + cancelShare must not exceed 1, got %g + %g", pay, cancel))
	}
	if share(c.OrderShare, 0) > 0 && c.Users < c.Racers {
		errs = append(errs, fieldErr("users", "need at least racers (%d) buyers to order tickets, got %d", c.Racers, c.Users))
	}
	if c.Think < 0 {
		errs = append(errs, fieldErr("think", "must not be negative"))
	}
	if c.ReplicaWait < 0 {
		errs = append(errs, fieldErr("replicaWait", "must not be negative"))
	}
	if c.MaxInFlight < 0 {
		errs = append(errs, fieldErr("maxInFlight", "must not be negative"))
	}
	return errors.Join(errs...)
}

// yamlFields lists Config's YAML field names.
var yamlFields = func() []string {
	var out []string
	t := reflect.TypeFor[Config]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		out = append(out, name)
	}
	return out
}()

// Fields lists the YAML names of the workload block, e.g. for a schema.
func Fields() []string { return slices.Clone(yamlFields) }

// Decode reads a scenario's workload block strictly: an unknown field, a
// value of the wrong type (also a fraction for a count) and a value out of
// range are *FieldErrors with the line they are on. A nil or empty node is
// the defaults. The result has its defaults applied.
func Decode(n *yaml.Node) (Config, error) {
	var c Config
	if n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		c = c.WithDefaults()
		return c, c.Validate()
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return Config{}, &FieldError{Field: "", Line: n.Line, Msg: "want a mapping of workload fields"}
	}
	var errs []error
	lines, bad := map[string]int{}, map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		kind, known := yamlKinds[k.Value]
		if !known {
			errs = append(errs, &FieldError{Field: k.Value, Line: k.Line,
				Msg: "unknown field of a ticketsale workload (known: " + strings.Join(yamlFields, ", ") + ")"})
			continue
		}
		lines[k.Value] = k.Line
		if kind == reflect.Int && (v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int") {
			errs = append(errs, &FieldError{Field: k.Value, Line: v.Line, Msg: fmt.Sprintf("want a whole number, got %q", v.Value)})
			bad[k.Value] = true
			continue
		}
		one := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{k, v}}
		if err := one.Decode(&c); err != nil {
			errs = append(errs, &FieldError{Field: k.Value, Line: v.Line, Msg: yamlMessage(err)})
			bad[k.Value] = true
		}
	}
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		for _, e := range unjoin(err) {
			if fe, ok := e.(*FieldError); ok {
				if bad[fe.Field] {
					continue // restates the decoding error
				}
				if fe.Line == 0 {
					fe.Line = lines[fe.Field]
				}
				if fe.Line == 0 {
					fe.Line = n.Line // a default field: the block's line
				}
			}
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return c, nil
}

// yamlKinds maps each YAML field to its Go kind (pointers dereferenced).
var yamlKinds = func() map[string]reflect.Kind {
	out := map[string]reflect.Kind{}
	t := reflect.TypeFor[Config]()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		out[name] = ft.Kind()
	}
	return out
}()

// yamlMessage strips yaml.v3's "yaml: unmarshal errors:\n  line N: "
// prefix from a decoding error.
func yamlMessage(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: unmarshal errors:\n")
	msg = strings.TrimSpace(msg)
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if _, after, ok := strings.Cut(rest, ": "); ok {
			msg = after
		}
	}
	return msg
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

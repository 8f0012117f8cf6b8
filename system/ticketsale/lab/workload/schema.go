package workload

import (
	"strconv"
	"time"
)

// Span is how long starting every lifecycle takes at Rate (defaults
// applied): the load issues its requests for at least this long.
func (c Config) Span() time.Duration {
	c = c.WithDefaults()
	if c.Tickets <= 1 || c.Rate <= 0 {
		return 0
	}
	return time.Duration(float64(c.Tickets-1) / c.Rate * float64(time.Second))
}

// Properties is the JSON Schema of each key of the workload block.
func Properties() map[string]any {
	share := func(doc string) map[string]any {
		return map[string]any{"type": "number", "minimum": 0, "maximum": 1, "description": doc}
	}
	count := func(lo, hi int, doc string) map[string]any {
		return map[string]any{"type": "integer", "minimum": lo, "maximum": hi, "description": doc}
	}
	duration := func(doc string) map[string]any {
		return map[string]any{"type": "string", "pattern": `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$|^0$`, "description": doc}
	}
	return map[string]any{
		"users":   count(0, MaxUsers, "buyers who sign up (default "+strconv.Itoa(DefaultUsers)+")"),
		"sellers": count(1, MaxUsers, "sellers who list tickets (default "+strconv.Itoa(DefaultSellers)+")"),
		"tickets": count(1, MaxTickets, "tickets listed, one lifecycle each (default "+strconv.Itoa(DefaultTickets)+")"),
		"rate": map[string]any{"type": "number", "exclusiveMinimum": 0, "maximum": MaxRate,
			"description": "lifecycles started per second (default 5)"},
		"prices": map[string]any{"type": "array", "maxItems": MaxUpdates + 1,
			"items":       map[string]any{"type": "number", "exclusiveMinimum": 0, "maximum": MaxPrice},
			"description": "every ticket's price history: created at the first, updated to each next (the course's race: [5, 10, 15])"},
		"priceUpdates":    count(0, MaxUpdates, "drawn price updates per ticket when prices is unset (default 1)"),
		"orderShare":      share("share of tickets ordered (default 1)"),
		"racers":          count(1, MaxRacers, "buyers ordering each ordered ticket at the same moment (default 1)"),
		"payShare":        share("share of orders paid (default 0.6)"),
		"cancelShare":     share("share of orders cancelled unpaid (default 0.2); the rest expire"),
		"doublePayShare":  share("share of paid orders paid twice at once (default 0)"),
		"cancelPaidShare": share("share of paid orders cancelled once complete (default 0)"),
		"think":           duration("longest pause before each step of a lifecycle (default 0)"),
		"replicaWait":     duration("how long a buyer retries an order or payment answered 404 (default 30s)"),
		"maxInFlight":     count(0, MaxTickets, "most lifecycles at once (default 64)"),
	}
}

// Attrs are a record's details as strings, for the lab's generic record.
func (r Record) Attrs() map[string]string {
	a := map[string]string{"outcome": r.Outcome}
	set := func(k, v string) {
		if v != "" {
			a[k] = v
		}
	}
	set("message", r.Message)
	set("user", r.User)
	set("ticket", r.Ticket)
	set("order", r.Order)
	if r.Price != 0 {
		a["price"] = strconv.FormatFloat(r.Price, 'f', -1, 64)
	}
	a["seq"] = strconv.Itoa(r.Seq)
	a["took"] = r.Took.String()
	return a
}

package history

import (
	"fmt"
	"strconv"
	"strings"
)

// Requirement is one piece of evidence a fault must leave, e.g.
// "dedup.skips > 0": a counter, a comparison and a threshold.
type Requirement struct {
	Counter string  `json:"counter"`
	Op      string  `json:"op"`
	Value   float64 `json:"value"`
}

// Ops are the comparisons a requirement may use.
var Ops = []string{">=", "<=", "==", "!=", ">", "<"}

// ParseRequirement parses "COUNTER OP NUMBER" (spaces optional around OP).
func ParseRequirement(s string) (Requirement, error) {
	s = strings.TrimSpace(s)
	for _, op := range Ops { // two-character operators first
		i := strings.Index(s, op)
		if i < 0 {
			continue
		}
		name := strings.TrimSpace(s[:i])
		num := strings.TrimSpace(s[i+len(op):])
		if name == "" {
			return Requirement{}, fmt.Errorf("evidence %q: missing counter name before %q", s, op)
		}
		v, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return Requirement{}, fmt.Errorf("evidence %q: threshold %q is not a number", s, num)
		}
		return Requirement{Counter: name, Op: op, Value: v}, nil
	}
	return Requirement{}, fmt.Errorf("evidence %q: want COUNTER OP NUMBER, e.g. \"dedup.skips > 0\" (ops: %s)", s, strings.Join(Ops, " "))
}

// String renders the requirement as it is written in a scenario.
func (r Requirement) String() string {
	return r.Counter + " " + r.Op + " " + strconv.FormatFloat(r.Value, 'f', -1, 64)
}

// Met reports whether an observed value satisfies the requirement.
func (r Requirement) Met(v float64) bool {
	switch r.Op {
	case ">":
		return v > r.Value
	case ">=":
		return v >= r.Value
	case "<":
		return v < r.Value
	case "<=":
		return v <= r.Value
	case "==":
		return v == r.Value
	case "!=":
		return v != r.Value
	}
	return false
}

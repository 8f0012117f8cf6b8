package spec

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"
)

// WorkloadConfig is a system's decoded `workload:` block.
type WorkloadConfig interface {
	// Span is how long the load takes to issue its requests; the method
	// lasts at least as long.
	Span() time.Duration
}

// WorkloadType decodes and validates a system's `workload:` block; the
// scenario JSON Schema of the block is generated from it.
type WorkloadType struct {
	// Properties is the JSON Schema of each of the system's keys of the
	// block (the lab adds `settle`).
	Properties map[string]any
	// Required lists the keys a block must have.
	Required []string
	// Decode decodes and validates the block without the lab's key
	// `settle`; n is an empty mapping when the scenario has no block.
	// Errors built with FieldError (or any *Error) keep their line, and
	// the scenario's file is filled in.
	Decode func(n *yaml.Node) (WorkloadConfig, error)
}

// Workload is a scenario's `workload:` block: the lab's settle and the
// system's own keys, which Validate decodes through the system's
// WorkloadType into Config.
type Workload struct {
	// Settle is how long to wait for quiescence after the method ends.
	Settle Duration
	// Config is the system's decoded block (nil before Validate or when the
	// system has no workload).
	Config WorkloadConfig
	// Hold, when set, gates the load on an event of the run (the lab's key
	// `hold`).
	Hold *Hold

	node       *yaml.Node // the block without settle
	settleLine int        // 0: no settle key
}

// Hold is a workload gate: the load issues its first After requests, then
// holds the rest until Until holds (e.g. a step started), so that the later
// requests are certain to meet the fault. A condition that never holds
// releases the load at the give-up time (logged).
type Hold struct {
	After int  `yaml:"after"`
	Until When `yaml:"until"`
}

// The lab's own keys of a workload block; every other key is the system's.
const (
	SettleKey = "settle"
	HoldKey   = "hold"
)

// UnmarshalYAML keeps the block for the system's decoder and takes settle.
func (w *Workload) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return lineErr(n, "workload: want a mapping")
	}
	rest := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value == SettleKey {
			w.settleLine = k.Line
			if err := w.Settle.UnmarshalYAML(v); err != nil {
				return err
			}
			continue
		}
		if k.Value == HoldKey {
			w.Hold = &Hold{}
			if err := v.Decode(w.Hold); err != nil {
				return err
			}
			continue
		}
		rest.Content = append(rest.Content, k, v)
	}
	w.node = rest
	return nil
}

// decode runs the system's decoder on the block.
func (w *Workload) decode(v *validator) {
	n := w.node
	if n == nil {
		n = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	}
	wt := v.voc.Workload
	if wt == nil {
		if len(n.Content) > 0 {
			v.errorf("workload."+n.Content[0].Value, "system %s takes no workload keys but settle and hold", v.voc.System)
		}
		return
	}
	cfg, err := wt.Decode(n)
	if err == nil {
		w.Config = cfg
		return
	}
	for _, e := range unjoin(err) {
		var le *Error
		if errors.As(e, &le) {
			le := *le
			if le.File == "" {
				le.File = v.s.file
			}
			v.errs = append(v.errs, &le)
			continue
		}
		v.errorf("workload", "%v", e)
	}
}

// FieldError is an error about the key path of a block at line, e.g.
// FieldError(n.Line, "workload.rate", "want a rate above 0").
func FieldError(line int, path, format string, args ...any) error {
	return &Error{Line: line, Msg: path + ": " + fmt.Sprintf(format, args...)}
}

// DecodeBlock decodes the mapping n into out (a pointer to a struct with
// yaml tags) strictly: unknown keys and type errors become errors with
// their lines; path is where n is (e.g. "workload"). It returns the line of
// every key path below n (e.g. "workload.languages.pl"), for the caller's
// own field errors.
func DecodeBlock(n *yaml.Node, path string, out any) (lines map[string]int, err error) {
	lines = map[string]int{}
	st := &strict{lines: lines}
	st.check(n, reflect.TypeOf(out), path)
	var errs []error
	for _, e := range st.errs {
		errs = append(errs, &Error{Line: e.line, Msg: e.msg})
	}
	if err := n.Decode(out); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return lines, FieldError(n.Line, path, "%v", err)
		}
		for _, msg := range te.Errors {
			errs = append(errs, yamlLineError(msg))
		}
	}
	return lines, errors.Join(errs...)
}

// yamlLineError turns yaml.v3's "line N: msg" into an *Error.
func yamlLineError(msg string) error {
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{Line: line, Msg: m[2]}
	}
	return &Error{Msg: msg}
}

// Package scenarios is the scenario layer of the lab: spec (files), catalog
// (the named scenarios embedded in tflab), history (what a run recorded),
// check (invariants and verdicts) and report (journal, JUnit, HTML, table).
// This root package carries the JSON Schema for scenario files: a template
// whose system names are filled in from the systems' vocabularies.
//
// # Best practices
//
//   - Point editors at the schema with a modeline on the first line of a
//     scenario file: `# yaml-language-server: $schema=<path>/scenario.schema.json`.
//   - When a field is added to scenarios/spec, add it to the schema too; the
//     catalog tests fail until both agree.
//   - Never write a system's names into the template by hand: SchemaFor
//     writes them from the vocabularies; the committed scenario.schema.json
//     is Ticketflow's, scenario.<system>.schema.json another system's
//     (`tflab scenarios schema --system NAME`; the catalog tests keep each
//     equal to its generated schema and each catalog file pointing at its
//     system's).
package scenarios

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
)

// Schema is the JSON Schema (draft 2020-12) of scenario files as committed:
// the template SchemaFor fills, with Ticketflow's names.
//
//go:embed scenario.schema.json
var Schema []byte

// SchemaFor returns the scenario JSON Schema for the systems of vocs: the
// system, service, message type, protection, in-app fault and invariant
// names come from their vocabularies (the union, in order of first
// appearance), and so do the workload block's keys (with the lab's settle;
// its required keys only for a single system) and hold.
func SchemaFor(vocs ...spec.Vocabulary) ([]byte, error) {
	if len(vocs) == 0 {
		return nil, errors.New("scenario schema: no system")
	}
	// Empty, not null: a system without in-app faults gets `enum: []`,
	// which the metaschema accepts and no value satisfies.
	systems, services, protections, types, faults, inapp := []string{}, []string{}, []string{}, []string{}, []string{}, []string{}
	var invariants, required []string
	workload := map[string]any{spec.SettleKey: map[string]any{"$ref": "#/$defs/duration"}, spec.HoldKey: map[string]any{
		"description":          "a gate: issue the first `after` requests, then hold the rest until `until` holds (e.g. {step: memory-alarm, phase: started}); the pacing resumes from there",
		"type":                 "object",
		"additionalProperties": false,
		"required":             []string{"after", "until"},
		"properties": map[string]any{
			"after": map[string]any{"type": "integer", "minimum": 1},
			"until": map[string]any{"$ref": "#/$defs/when"},
		},
	}}
	var ids, names []string
	for i, v := range vocs {
		for _, inv := range check.All(v.Invariants) {
			ids, names = union(ids, inv.ID), union(names, inv.Name)
		}
		if v.Workload != nil {
			maps.Copy(workload, v.Workload.Properties)
			if i == 0 {
				required = v.Workload.Required
			}
		}
		if len(vocs) > 1 {
			required = nil // each system requires its own keys
		}
		systems = union(systems, v.System)
		services = union(services, v.Services...)
		protections = union(protections, v.Protections...)
		types = union(types, v.MessageTypes...)
		faults = union(faults, v.InAppFaultNames()...)
		inapp = union(inapp, v.InAppServices...)
	}
	invariants = append(ids, names...)
	var doc map[string]any
	if err := json.Unmarshal(Schema, &doc); err != nil {
		return nil, fmt.Errorf("scenario schema: %w", err)
	}
	unprotect := "^(" + alternatives(protections) + ")(:(" + alternatives(services) + "))?$"
	for _, set := range []struct {
		path  []string
		key   string
		value any
	}{
		{[]string{"properties", "system"}, "enum", systems},
		{[]string{"properties", "protections", "propertyNames"}, "enum", protections},
		{[]string{"$defs", "service"}, "enum", services},
		{[]string{"$defs", "messageType"}, "enum", types},
		{[]string{"$defs", "inappStep", "properties", "anomaly"}, "enum", faults},
		{[]string{"$defs", "inappStep", "properties", "service"}, "enum", inapp},
		{[]string{"$defs", "control", "properties", "unprotect", "items"}, "pattern", unprotect},
		{[]string{"$defs", "when", "properties", "service"}, "enum", services},
		{[]string{"$defs", "when", "properties", "messageType"}, "enum", types},
		{[]string{"$defs"}, "invariant", map[string]any{"enum": invariants}},
		{[]string{"$defs", "workload"}, "properties", workload},
	} {
		node, err := at(doc, set.path)
		if err != nil {
			return nil, err
		}
		node[set.key] = set.value
	}
	if wl, err := at(doc, []string{"$defs", "workload"}); err == nil {
		delete(wl, "required")
		if len(required) > 0 {
			wl["required"] = required
		}
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("scenario schema: %w", err)
	}
	return append(out, '\n'), nil
}

func at(doc map[string]any, path []string) (map[string]any, error) {
	node := doc
	for _, p := range path {
		next, ok := node[p].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("scenario schema: no object at %s", strings.Join(path, "/"))
		}
		node = next
	}
	return node, nil
}

func union(have []string, add ...string) []string {
	for _, a := range add {
		if !slices.Contains(have, a) {
			have = append(have, a)
		}
	}
	return have
}

func alternatives(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = regexp.QuoteMeta(n)
	}
	return strings.Join(q, "|")
}

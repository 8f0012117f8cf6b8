// Package scenarios is the scenario layer of the lab: spec (files), catalog
// (the named scenarios embedded in tflab), history (what a run recorded),
// check (invariants and verdicts) and report (journal, JUnit, HTML, table).
// This root package only carries the JSON Schema for scenario files.
//
// # Best practices
//
//   - Point editors at the schema with a modeline on the first line of a
//     scenario file: `# yaml-language-server: $schema=<path>/scenario.schema.json`.
//   - When a field is added to scenarios/spec, add it to the schema too; the
//     catalog tests fail until both agree.
package scenarios

import _ "embed"

// Schema is the JSON Schema (draft 2020-12) of scenario files, for editors
// and `tflab scenarios schema`.
//
//go:embed scenario.schema.json
var Schema []byte

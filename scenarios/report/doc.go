// Package report renders a judged run: journal.json (schema-versioned, the
// machine record), junit.xml (one testcase per steady-state probe and per
// invariant plus fault efficacy), report.html (one self-contained page with
// the steady-state probes, an inline SVG timeline of faults against
// throughput and latency, and every violation, its trace and message ids
// linked to a waterfall of the trace drawn in the page and, when the run
// names a console (Run.ConsoleTrace), to the console's follow-a-message
// page) and the text verdict table
// `tflab run` prints. Every steady-state probe is a row of each, in the
// order the run went: probes before the method, invariants, probes after. It imports only
// scenarios/history and scenarios/check, so a saved run renders offline.
//
// # Design
//
//	history + check.Verdict ──► NewJournal ──► WriteJournal   journal.json
//	                        ──► WriteJUnit(runs…)             junit.xml (suite per run)
//	                        ──► WriteHTML                     report.html
//	                        ──► WriteTable                    stdout
//
// JUnit mapping (chosen so CI never shows an unproven run as green):
// a failed probe → <failure type="steady-state-not-met"> (before the method)
// or <failure type="deviated"> (after the run); VIOLATED → <failure type="violated">; a negative control whose expected
// violation did not happen → <failure type="expected-violation-missing">;
// INCONCLUSIVE and missing fault evidence → <error type="inconclusive">
// (a <skipped> would often render green); not selected → <skipped>; violated
// as expected → a passing case with the violations in <system-out>.
//
// # Best practices
//
//   - Golden files cover only deterministic output rendered from the
//     committed history in testdata/history; refresh them with
//     `go test ./scenarios/report -update` and review the diff. Rebuild that
//     history from its recipe with -regen only on purpose.
//   - Never add an external asset to the HTML (a test rejects http(s) URLs,
//     <link>, <img>, <script src>, @import and url()).
package report

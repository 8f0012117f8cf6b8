// Package history is the plain, serializable record of one scenario run —
// Jepsen's "history", rebuilt from OpenTelemetry spans and the services'
// databases instead of client logs. The checkers (scenarios/check) judge it;
// the reports (scenarios/report) render it; `tflab verify` reloads it.
//
// # Design
//
//	Meta        what the run was: scenario, seed, protections, expectation,
//	            evidence requirements, limits, base time
//	Workload    every request the system's workload and end-to-end probes
//	            made, as generic records (kind, subject id, 2xx or not,
//	            trace, the system's attributes)
//	Events      every span: publish / create (outbox write) / process / command,
//	            flattened; each field maps 1:1 to a span attribute of
//	            tracing/otelamqp (EventAttributes)
//	Faults      the fault timeline as executed (planned offset, the event a
//	            keyed step waited for and whether it never came, start, heal, errors)
//	Snapshot    the system's own snapshot of its databases at quiescence
//	            (System: its type in memory, JSON on disk), the dead
//	            letters, and the broker's
//	            holdings: what each queue still held (ready, unacked, dead-
//	            lettered), its consumers and prefetch, the held message ids
//	Counters    what the runner observed outside the spans (Toxiproxy bytes,
//	            broker alarms, reconnects…); see the Counters catalog
//
// On disk a history is two files: history.json (everything but the events)
// and events.jsonl (one span per line), so a million spans stream in and out.
// Trace and span ids are fixed-size arrays and repeated strings are interned
// on read, to keep large histories small in memory.
//
// Load fills History.Events. LoadTable, the form `tflab verify` judges,
// fills History.Table instead: an EventTable of fixed-size rows (80 bytes
// per event, against 424 for an Event, and a shape shared by the events
// alike in kind, service, type, outcomes and such) whose strings are handles into one
// table of distinct strings. Both loaders stream: history.json member by
// member and array element by element, events.jsonl line by line through a
// hand-written decoder (encoding/json takes the lines it does not handle:
// escapes, nulls, unknown keys). LoadTable cuts a large events.jsonl at
// line ends into one part per CPU, decodes each into a table of its own and
// appends them in file order (EventTable.AppendTable), while the run file
// is read beside them. Code that reads events of either form uses
// NumEvents, EventAt and AllEvents; EventAt copies a row out of the table.
// HeadAt and EventsWhere read only an event's EventHead (kind, service,
// message id and type, aggregate id, outcome, trace and span ids), so a
// loop that filters on those copies out only the events it keeps. The run
// file's arrays share equal strings and equal command parameters (one map
// for all equal ones: do not write to them). LoadHeader does not decode a
// system snapshot: it reads past it, checking only that its brackets match
// and its strings close, notes where it lies in history.json, and SnapshotAs
// streams it from there at the first call (an error if the file changed
// since) and keeps the decoded value for every later call. RolledBackAt
// reads Event.RolledBack from a row without copying it out.
//
// This package imports nothing of the live system: an adapter (built with the
// tracing reader and the services' stores) fills it, and the checkers need
// nothing else.
//
// # Best practices
//
//   - Record times from one clock per source and keep them absolute; reports
//     compute offsets from Meta.Start.
//   - Record an instantaneous fault (kill, close-connections) with
//     Healed = Started, so that fault windows stay short.
//   - Never record a counter whose catalog Source is FromHistory: the
//     checkers recompute those and ignore the runner's.
//   - Bump SchemaVersion on any incompatible change; Load refuses others.
//   - Read events through NumEvents/EventAt/AllEvents, not h.Events, in
//     code that judges a loaded run: a table leaves Events empty. The
//     pointer AllEvents yields from a table is reused at the next step.
package history

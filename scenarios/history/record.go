package history

import (
	"encoding/json"
	"time"
)

// Record is one thing a system's workload (or its end-to-end probe) asked
// of the system, in a shape every system shares: the checkers hold the
// system to an accepted record, and a record whose outcome is unknown
// (no answer) to nothing.
type Record struct {
	// Kind is what was asked, in the system's words, e.g. "submit",
	// "qualify", "buy".
	Kind string `json:"kind"`
	// ID is the subject the request created or addressed (an inquiry id, a
	// ticket id, an order id).
	ID string    `json:"id"`
	At time.Time `json:"at"`
	// Accepted is true when the system answered 2xx.
	Accepted bool `json:"accepted"`
	// Status is the HTTP status, 0 when none arrived.
	Status  int     `json:"status,omitempty"`
	TraceID TraceID `json:"traceId,omitzero"`
	// Attrs are the system's details of the request, e.g. language, email,
	// severity, price.
	Attrs map[string]string `json:"attrs,omitempty"`
}

// Count is one of the numbers that size a run in the journal and the
// report, e.g. {"inquiries", 30}.
type Count struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

// SystemSnapshot is a system's own snapshot serialised as JSON, kept
// undecoded in the history (Snapshot.System) so that the lab never needs
// its type; the system's invariants decode it (check.SystemSnapshot).
type SystemSnapshot = json.RawMessage

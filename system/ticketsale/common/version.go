package common

import (
	"errors"
	"fmt"
)

// Decision is what a replica does with a versioned update.
type Decision int

// Decisions of DecideVersion.
const (
	// Apply the update and store the event's version.
	Apply Decision = iota
	// Skip acks the event without a change (already applied).
	Skip
	// Retry fails the handling, so the event is redelivered later.
	Retry
)

// DecideVersion applies mode to a replica at version stored and an event at
// version event (spec A.5): off applies everything; strict applies only
// stored+1 and retries the rest (a duplicate of an applied update too);
// strict+skipApplied skips stored ≥ event, applies stored+1, retries gaps.
func DecideVersion(mode VersionMode, stored, event int64) Decision {
	switch mode {
	case VersionOff:
		return Apply
	case VersionStrict:
		if event == stored+1 {
			return Apply
		}
		return Retry
	default:
		switch {
		case event <= stored:
			return Skip
		case event == stored+1:
			return Apply
		default:
			return Retry
		}
	}
}

// ErrNotFound marks a record an event refers to that the service does not
// hold (yet); the handling fails and the event is redelivered, as in the
// course.
var ErrNotFound = errors.New("not found")

// ErrVersion marks an update whose version the replica cannot apply yet
// (or, strict mode, ever).
var ErrVersion = errors.New("version mismatch")

// VersionError reports an event version the replica cannot apply.
func VersionError(kind, id string, stored, event int64) error {
	return fmt.Errorf("%w: %s %s at version %d, event version %d", ErrVersion, kind, id, stored, event)
}

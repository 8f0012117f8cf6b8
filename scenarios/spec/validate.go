package spec

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/scenarios/history"
)

// Defaults.
const (
	DefaultSystem = "ticketflow"
	DefaultSeed   = 1
	DefaultSettle = Duration(20 * time.Second)
)

var (
	nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	tagRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
)

func (s *Scenario) setDefaults() {
	if s.System == "" {
		s.System = DefaultSystem
	}
	if _, ok := s.lines["seed"]; !ok && s.Seed == 0 {
		s.Seed = DefaultSeed
	}
	if s.Workload.settleLine > 0 {
		s.lines["workload.settle"] = s.Workload.settleLine
	} else {
		s.Workload.Settle = DefaultSettle
	}
	nameSteps(s.Method, "")
	nameSteps(s.Rollbacks, "rollback-")
	whenDefaults(s.Method)
	if s.Control != nil {
		nameSteps(s.Control.Method, "")
		whenDefaults(s.Control.Method)
	}
	if s.Workload.Hold != nil {
		s.Workload.Hold.Until.setDefaults()
	}
}

// nameSteps gives unnamed steps "<type>-<n>" names, n counting per type.
func nameSteps(steps []Step, prefix string) {
	count := map[string]int{}
	for i := range steps {
		if steps[i].Action == nil {
			continue
		}
		t := steps[i].Action.Type()
		count[t]++
		if steps[i].Name == "" {
			steps[i].Name = fmt.Sprintf("%s%s-%d", prefix, t, count[t])
		}
	}
}

// validator collects located errors.
type validator struct {
	s    *Scenario
	voc  Vocabulary
	errs []error
}

// errorLine reports an error at a line no path records.
func (v *validator) errorLine(line int, format string, args ...any) {
	v.errs = append(v.errs, &Error{File: v.s.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) errorf(path, format string, args ...any) {
	v.errs = append(v.errs, &Error{File: v.s.file, Line: v.s.line(path), Msg: path + ": " + fmt.Sprintf(format, args...)})
}

// line finds the line of path, or of its nearest recorded parent.
func (s *Scenario) line(path string) int {
	for p := path; p != ""; {
		if n, ok := s.lines[p]; ok {
			return n
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0
}

// Validate checks the scenario's meaning (names, ranges, combinations)
// against the vocabulary of its system, one of vocs. The errors are *Error
// values joined with errors.Join. On success the scenario keeps its
// system's vocabulary for Plan.
func (s *Scenario) Validate(vocs Vocabularies) error {
	if s.lines == nil {
		s.lines = map[string]int{}
	}
	voc, known := vocs.Lookup(s.System)
	v := &validator{s: s, voc: voc}
	if !nameRE.MatchString(s.Name) {
		v.errorf("name", "want a lowercase name of letters, digits and dashes, got %q", s.Name)
	}
	if strings.TrimSpace(s.Description) == "" {
		v.errorf("description", "required: say what the scenario shows")
	}
	for i, t := range s.Tags {
		if !tagRE.MatchString(t) {
			v.errorf(fmt.Sprintf("tags[%d]", i), "want a lowercase tag, got %q", t)
		}
	}
	if !known {
		v.errorf("system", "unknown system %q (valid: %s)", s.System, vocs.systemsText())
		// Without its vocabulary the system's names cannot be judged:
		// report the system once rather than every name.
		v.voc = Vocabulary{System: s.System}
	} else {
		s.voc = voc
		s.Protections.validate(v)
		s.Workload.decode(v)
	}
	if s.Workload.Settle < 0 {
		v.errorf("workload.settle", "must not be negative")
	}
	validateQueueType(v, "queueType", s.QueueType)
	validateCluster(v, s)
	validateScale(v, s.Scale)
	for _, part := range []struct {
		name   string
		probes []Probe
	}{{"steadyState.before", s.SteadyState.Before}, {"steadyState.after", s.SteadyState.After}} {
		for i, p := range part.probes {
			p.validate(v, fmt.Sprintf("%s[%d]", part.name, i))
		}
	}
	if len(s.Method) == 0 {
		v.errorf("method", "required: at least one fault step")
	}
	validateSteps(v, "method", s.Method)
	if h := s.Workload.Hold; h != nil {
		validateHold(v, h, s.Method)
		if s.Control != nil && len(s.Control.Method) > 0 {
			validateHold(v, h, s.Control.Method)
		}
	}
	names := map[string]bool{}
	for i, st := range s.Method {
		if st.Action == nil {
			continue // did not decode; reported already
		}
		if names[st.Name] {
			v.errorf(fmt.Sprintf("method[%d].name", i), "duplicate step name %q", st.Name)
		}
		names[st.Name] = true
	}
	for i, st := range s.Rollbacks {
		path := fmt.Sprintf("rollbacks[%d]", i)
		if st.At != 0 || st.Duration != 0 || st.Jitter != 0 || st.When != nil || st.Until != nil {
			v.errorf(path, "a rollback runs once at the end: it takes no at, jitter, duration or when (nor until)")
		}
		if st.Action != nil {
			st.Action.validate(v, path)
		}
	}
	for i, id := range s.Invariants {
		validateInvariant(v, fmt.Sprintf("invariants[%d]", i), id)
	}
	if len(s.Evidence) == 0 {
		v.errorf("evidence", "required: name at least one counter the fault must move (e.g. \"deliveries.redelivered > 0\"); without evidence a run can only be INCONCLUSIVE")
	}
	for i, id := range s.Expect.Violated {
		validateInvariant(v, fmt.Sprintf("expect.violated[%d]", i), id)
	}
	if c := s.Control; c != nil {
		c.validate(v)
	}
	return errors.Join(v.errs...)
}

func validateInvariant(v *validator, path, id string) {
	if _, ok := check.Lookup(v.voc.Invariants, id); !ok {
		v.errorf(path, "unknown invariant %q (valid: %s)", id, strings.Join(check.IDs(v.voc.Invariants), ", "))
	}
}

func (p Probe) validate(v *validator, path string) {
	if !slices.Contains(Probes, p.Probe) {
		v.errorf(path+".probe", "unknown probe %q (valid: %s)", p.Probe, strings.Join(Probes, ", "))
	}
	if p.Timeout < 0 {
		v.errorf(path+".timeout", "must not be negative")
	}
	if p.Probe == "min-throughput" && p.Min <= 0 {
		v.errorf(path+".min", "min-throughput needs min > 0 (messages per second)")
	}
	if p.Probe != "min-throughput" && p.Min != 0 {
		v.errorf(path+".min", "only min-throughput takes min")
	}
}

func validateSteps(v *validator, path string, steps []Step) {
	for i, st := range steps {
		p := fmt.Sprintf("%s[%d]", path, i)
		if st.At < 0 {
			v.errorf(p+".at", "must not be negative")
		}
		if st.Jitter < 0 {
			v.errorf(p+".jitter", "must not be negative")
		}
		if st.Duration < 0 {
			v.errorf(p+".duration", "must not be negative")
		}
		if st.Action == nil {
			continue
		}
		if st.Action.Instant() && st.Duration != 0 {
			v.errorf(p+".duration", "%s is instant: it takes no duration", st.Action.Describe())
		}
		st.Action.validate(v, p)
		if st.When != nil {
			validateWhen(v, p, st, steps)
		}
		if st.Until != nil {
			validateUntil(v, p, st, steps)
		}
	}
	validateWhenCycles(v, path, steps)
}

func (c *Control) validate(v *validator) {
	if len(c.Unprotect) == 0 && len(c.Method) == 0 && c.Profile == "" && c.QueueType == "" && c.PartitionHandling == "" {
		v.errorf("control", "a control switches a protection off (unprotect), changes the method, the profile, the queue type or the partition handling")
	}
	for i, u := range c.Unprotect {
		if err := v.voc.checkUnprotect(u); err != nil {
			v.errorf(fmt.Sprintf("control.unprotect[%d]", i), "%v", err)
		}
	}
	validateSteps(v, "control.method", c.Method)
	if len(c.Expect.Violated) == 0 {
		v.errorf("control.expect", "a control must expect a violation: {violated: [TF…]}")
	}
	for i, id := range c.Expect.Violated {
		validateInvariant(v, fmt.Sprintf("control.expect.violated[%d]", i), id)
	}
}

// checkUnprotect validates "dedup" or "dedup:sla" (nothing when the
// vocabulary is unknown: the scenario's system is reported instead).
func (voc Vocabulary) checkUnprotect(u string) error {
	if voc.Services == nil {
		return nil
	}
	prot, svc, hasSvc := strings.Cut(u, ":")
	if !slices.Contains(voc.Protections, prot) {
		return fmt.Errorf("unknown protection %q (valid: %s)", prot, strings.Join(voc.Protections, ", "))
	}
	if hasSvc && !slices.Contains(voc.Services, svc) {
		return fmt.Errorf("unknown service %q in %q (valid: %s)", svc, u, strings.Join(voc.Services, ", "))
	}
	return nil
}

// validate checks the protections' and services' names of the protections
// block.
func (ps Protections) validate(v *validator) {
	for _, prot := range sortedKeys(ps) {
		sw := ps[prot]
		if !slices.Contains(v.voc.Protections, prot) {
			v.errorLine(sw.line, "unknown protection %q (valid: %s)", prot, strings.Join(v.voc.Protections, ", "))
			continue
		}
		for _, svc := range sortedKeys(sw.Services) {
			if !slices.Contains(v.voc.Services, svc) {
				v.errorLine(sw.lines[svc], "unknown service %q (valid: %s)", svc, strings.Join(v.voc.Services, ", "))
			}
		}
	}
}

// name checks a name of the system's vocabulary; an unknown system's names
// are not judged (its system is reported).
func (v *validator) name(path, what, got string, valid []string) bool {
	if v.voc.Services == nil {
		return true
	}
	return oneOf(v, path, what, got, valid)
}

func oneOf(v *validator, path, what, got string, valid []string) bool {
	if slices.Contains(valid, got) {
		return true
	}
	if got == "" {
		v.errorf(path, "%s is required (one of %s)", what, strings.Join(valid, ", "))
		return false
	}
	v.errorf(path, "unknown %s %q (valid: %s)", what, got, strings.Join(valid, ", "))
	return false
}

func (a *NetworkAction) validate(v *validator, path string) {
	if !oneOf(v, path+".toxic", "toxic", a.Toxic, sortedKeys(Toxics)) {
		return
	}
	v.name(path+".link", "link (a service)", a.Link, v.voc.Services)
	if a.Direction != "" {
		oneOf(v, path+".direction", "direction", a.Direction, Directions)
	}
	if t := a.EffectiveToxicity(); t <= 0 || t > 1 {
		v.errorf(path+".toxicity", "want a probability in (0, 1], got %g", t)
	}
	allowed := Toxics[a.Toxic]
	for _, k := range sortedAttrKeys(a.Attributes) {
		if !slices.Contains(allowed, k) {
			v.errorf(path+".attributes."+k, "%s has no attribute %q (valid: %s)", a.Toxic, k, strings.Join(allowed, ", "))
		}
		if a.Attributes[k] < 0 {
			v.errorf(path+".attributes."+k, "must not be negative")
		}
	}
	for _, k := range ToxicRequired[a.Toxic] {
		if _, ok := a.Attributes[k]; !ok {
			v.errorf(path+".attributes", "%s needs attribute %q", a.Toxic, k)
		}
	}
}

func (a *OutageAction) validate(v *validator, path string) {
	v.name(path+".link", "link (a service)", a.Link, v.voc.Services)
}

func (a *PartitionAction) validate(v *validator, path string) {
	if len(a.Links) == 0 {
		v.errorf(path+".links", "a partition names at least one link")
	}
	seen := map[string]bool{}
	for i, l := range a.Links {
		p := fmt.Sprintf("%s.links[%d]", path, i)
		v.name(p, "link (a service)", l, v.voc.Services)
		if seen[l] {
			v.errorf(p, "link %q listed twice", l)
		}
		seen[l] = true
	}
}

func (a *ProcessAction) validate(v *validator, path string) {
	oneOf(v, path+".op", "process op", a.Op, ProcessOps)
	v.name(path+".service", "service", a.Service, v.voc.Services)
	if a.Instance < 0 {
		v.errorf(path+".instance", "must not be negative")
	}
	switch {
	case a.Op == "clock-offset" && a.Offset == 0:
		v.errorf(path+".offset", "clock-offset needs a non-zero offset such as 10m or -5m")
	case a.Op != "clock-offset" && a.Offset != 0:
		v.errorf(path+".offset", "only clock-offset takes an offset")
	}
}

func (a *BrokerAction) validate(v *validator, path string) {
	oneOf(v, path+".op", "broker op", a.Op, BrokerOps)
	if a.Service != "" {
		if a.Op != "close-connections" {
			v.errorf(path+".service", "only close-connections takes a service")
		} else {
			v.name(path+".service", "service", a.Service, v.voc.Services)
		}
	}
}

func (a *InAppAction) validate(v *validator, path string) {
	v.name(path+".anomaly", "anomaly", a.Anomaly, v.voc.InAppFaultNames())
	v.name(path+".service", "service with an anomaly API", a.Service, v.voc.InAppServices)
	v.name(path+".messageType", "message type", a.MessageType, v.voc.MessageTypes)
	fault, known := v.voc.inAppFault(a.Anomaly)
	if !known {
		return // parameter rules depend on the anomaly
	}
	delay := fault.Delay
	switch {
	case delay && a.Parameters.DelayInMs <= 0:
		v.errorf(path+".params.DelayInMs", "%s needs DelayInMs > 0", a.Anomaly)
	case !delay && a.Parameters.DelayInMs != 0:
		v.errorf(path+".params.DelayInMs", "only the delay anomalies take DelayInMs")
	}
	if a.Parameters.StatusFilter != "" && !fault.Consumer {
		v.errorf(path+".params.StatusFilter", "only the consumer anomalies take StatusFilter")
	}
}

func (a *MessageAction) validate(v *validator, path string) {
	if now, ok := renamedMessageFaults[a.Fault]; ok {
		v.errorf(path+".fault", "message fault %q was renamed: spell it %q", a.Fault, now)
	} else {
		oneOf(v, path+".fault", "message fault", a.Fault, MessageFaults)
	}
	v.name(path+".service", "service", a.Service, v.voc.Services)
	if a.Match.MessageType != "" {
		v.name(path+".match.messageType", "message type", a.Match.MessageType, v.voc.MessageTypes)
	}
	if a.Match.Nth < 0 || a.Match.Every < 0 || a.Match.Count < 0 {
		v.errorf(path+".match", "nth, every and count must not be negative")
	}
	if p := a.Match.Probability; p < 0 || p > 1 {
		v.errorf(path+".match.probability", "want a probability in [0, 1], got %g", p)
	}
	switch a.Fault {
	case "reorder":
		if a.Window < 2 {
			v.errorf(path+".window", "reorder needs a window of at least 2 deliveries")
		}
	case "delay-confirm":
		if a.Delay <= 0 {
			v.errorf(path+".delay", "delay-confirm needs a delay > 0")
		}
	}
	if a.Fault != "reorder" && a.Window != 0 {
		v.errorf(path+".window", "only reorder takes a window")
	}
	switch {
	case a.Prefetch != 0 && a.Fault != "reorder":
		v.errorf(path+".prefetch", "only reorder takes a prefetch")
	case a.Prefetch < 0 || a.Prefetch > 65535:
		v.errorf(path+".prefetch", "prefetch %d: want 1 to 65535", a.Prefetch)
	case a.Prefetch != 0 && a.Prefetch < a.Window:
		v.errorf(path+".prefetch", "prefetch %d below the window %d: the window could not fill", a.Prefetch, a.Window)
	}
	if a.Fault != "delay-confirm" && a.Fault != "reorder" && a.Delay != 0 {
		v.errorf(path+".delay", "only delay-confirm (the hold) and reorder (the longest wait for a window to fill) take a delay")
	}
	if a.ReplyCode != 0 && a.Fault != "channel-close" {
		v.errorf(path+".replyCode", "only channel-close takes a replyCode")
	}
	switch {
	case a.AckTimeout != nil && a.Fault != "drop-ack":
		v.errorf(path+".ackTimeout", "only drop-ack takes an ackTimeout")
	case a.AckTimeout != nil && *a.AckTimeout < 0:
		v.errorf(path+".ackTimeout", "ackTimeout %s: must not be negative (0: never)", *a.AckTimeout)
	}
}

// requirements converts the evidence list.
func requirements(rs []Requirement) []history.Requirement {
	out := make([]history.Requirement, len(rs))
	for i, r := range rs {
		out[i] = r.Requirement
	}
	return out
}

// MaxInstances is the most instances a scenario's scale may ask of one
// service (the lab's bound).
const MaxInstances = 9

// validateScale checks that scale names services of the system, each with
// 1 to MaxInstances instances.
func validateScale(v *validator, scale map[string]int) {
	for _, svc := range sortedKeys(scale) {
		path := "scale." + svc
		v.name(path, "service", svc, v.voc.Services)
		if n := scale[svc]; n < 1 || n > MaxInstances {
			v.errorf(path, "want 1 to %d instances, got %d", MaxInstances, n)
		}
	}
}

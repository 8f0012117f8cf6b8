package spec

import (
	"time"
)

// Scenario is one scenario file: Chaos Toolkit's experiment shape (steady
// state before and after, a method, rollbacks) plus what Chaos Toolkit lacks:
// a seed, protections, invariants, fault evidence and a negative control.
type Scenario struct {
	Name        string      `yaml:"name"`
	Description string      `yaml:"description"`
	Tags        []string    `yaml:"tags"`
	System      string      `yaml:"system"`
	Seed        int64       `yaml:"seed"`
	Profile     string      `yaml:"profile"` // see profile.go
	Protections Protections `yaml:"protections"`
	Workload    Workload    `yaml:"workload"`
	SteadyState SteadyState `yaml:"steadyState"`
	Method      []Step      `yaml:"method"`
	Rollbacks   []Step      `yaml:"rollbacks"`
	// Invariants to check: ids (TF2) or names (ExactlyOnceEffects); empty = all.
	Invariants []string      `yaml:"invariants"`
	Evidence   []Requirement `yaml:"evidence"`
	Expect     Expect        `yaml:"expect"`
	Control    *Control      `yaml:"control"`
	// QueueType, when set, is the lab's queue type for the scenario's runs
	// (QueueTypes): e.g. quorum for a scenario about a lost node.
	QueueType string `yaml:"queueType"`
	// Nodes, when above 1, runs the scenario on a private cluster of this
	// many nodes (a run's --nodes, when larger, wins).
	Nodes int `yaml:"nodes"`
	// Scale sets how many instances of a service the scenario's runs start
	// (1 to 9; unnamed services keep the system's default), e.g. the
	// course's four orders replicas.
	Scale map[string]int `yaml:"scale"`
	// PartitionHandling, when set, is the cluster's
	// cluster_partition_handling (PartitionHandlings).
	PartitionHandling string `yaml:"partitionHandling"`

	file  string
	lines map[string]int // dotted path → line, for validation messages
	voc   Vocabulary     // the system's, set by a successful Validate
}

// SteadyState lists the probes run before the method and after the settle.
type SteadyState struct {
	Before []Probe `yaml:"before"`
	After  []Probe `yaml:"after"`
}

// Probe is one steady-state check.
type Probe struct {
	Probe   string   `yaml:"probe"`
	Timeout Duration `yaml:"timeout"`
	Min     float64  `yaml:"min"` // min-throughput: messages per second
}

// Control is the scenario's negative control: the same seed with a defence
// switched off (or the fault aimed where no defence exists) must produce the
// named violation, proving the scenario can see the bug it guards against.
type Control struct {
	// Unprotect lists protections switched off: "dedup" (every service) or
	// "dedup:sla" (one service).
	Unprotect []string `yaml:"unprotect"`
	// Profile, when set, replaces the scenario's profile for the control run.
	Profile string `yaml:"profile"`
	// Method, when set, replaces the scenario's method for the control run.
	Method   []Step        `yaml:"method"`
	Expect   Expect        `yaml:"expect"`
	Evidence []Requirement `yaml:"evidence"` // replaces the scenario's evidence when set
	// QueueType and PartitionHandling, when set, replace the scenario's
	// for the control run (e.g. mirrored queues under autoheal).
	QueueType         string `yaml:"queueType"`
	PartitionHandling string `yaml:"partitionHandling"`
}

// Expect is `pass` or `{violated: [TF2, …]}` (at least these).
type Expect struct {
	Violated []string `yaml:"violated"`
}

// Step is one timeline entry of a method (at an offset, for a duration) or a
// rollback (run once, at the end, always).
type Step struct {
	Name string
	// At is the offset from the start of the workload.
	At Duration
	// Jitter adds a seeded random offset in [0, Jitter] to At.
	Jitter Duration
	// Duration heals the fault at At+Duration; zero heals it when the method
	// ends. Instant actions (restart, close-connections…) take none.
	Duration Duration
	// When, when set, fires the step on an event of the run (at or after At).
	When *When
	// Until, when set, heals the step once this condition holds after it
	// fired, and not before its duration has passed; span counts count from
	// the moment it fired.
	Until  *When
	Action Action

	line int
	// decodeErr is what did not decode in this step (see UnmarshalYAML).
	decodeErr error
}

// Line is the step's line in its file (0 when built in code).
func (s Step) Line() int { return s.line }

// Duration is a time.Duration written as Go duration text ("2s", "1m30s").
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// File is the path the scenario was read from ("" when parsed from bytes
// without a name).
func (s *Scenario) File() string { return s.file }

// Vocabulary is the vocabulary of the scenario's system, once validated.
func (s *Scenario) Vocabulary() Vocabulary { return s.voc }

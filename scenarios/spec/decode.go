package spec

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ticketflow-lab/tflab/scenarios/history"
)

// Error is one problem in a scenario file, located by line.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	file := e.File
	if file == "" {
		file = "scenario"
	}
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", file, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", file, e.Msg)
}

// ParseFile reads and validates a scenario file.
func ParseFile(path string, vocs Vocabularies) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	return Parse(path, data, vocs)
}

// Parse decodes a scenario strictly — unknown fields, wrong types, bad
// durations, unknown action types and names are errors — applies defaults and
// validates it against the vocabulary of its system, one of vocs. Every error is a *Error ("file:line: message"); all of them,
// decoding and validation errors alike, are returned together (errors.Join),
// sorted by line. Validation runs on what could be decoded; a validation
// error on a line that already has a decoding error is left out, since it
// restates that error (a value that did not decode reads as zero). Only a
// YAML syntax error stops at the first problem: the rest of the file cannot
// be read.
func Parse(name string, data []byte, vocs Vocabularies) (*Scenario, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if err.Error() == "EOF" {
			return nil, &Error{File: name, Msg: "empty file"}
		}
		return nil, yamlErrors(name, err)
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	s := &Scenario{file: name, lines: map[string]int{}}
	st := &strict{lines: s.lines}
	st.check(doc, reflect.TypeFor[Scenario](), "")
	var errs []error
	for _, e := range st.errs {
		errs = append(errs, &Error{File: name, Line: e.line, Msg: e.msg})
	}
	if err := doc.Decode(s); err != nil {
		errs = appendUnique(errs, yamlErrors(name, err))
	}
	for _, err := range s.stepErrors() {
		errs = appendUnique(errs, err)
	}
	s.setDefaults()
	if err := s.Validate(vocs); err != nil {
		errs = append(errs, newLines(errs, err)...)
	}
	if len(errs) > 0 {
		sortErrors(errs)
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// newLines returns the errors of joined whose line has no error in have yet
// (errors without a line are always kept).
func newLines(have []error, joined error) []error {
	taken := map[int]bool{}
	for _, e := range have {
		if le, ok := e.(*Error); ok && le.Line > 0 {
			taken[le.Line] = true
		}
	}
	var out []error
	for _, e := range unjoin(joined) {
		if le, ok := e.(*Error); ok && taken[le.Line] {
			continue
		}
		out = append(out, e)
	}
	return out
}

// unjoin lists the errors of an errors.Join (or err alone).
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

var lineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// yamlErrors turns yaml.v3 errors ("line 5: cannot unmarshal …") into *Errors.
func yamlErrors(file string, err error) error {
	var lines []string
	if te, ok := errors.AsType[*yaml.TypeError](err); ok {
		lines = te.Errors
	} else {
		lines = []string{err.Error()}
	}
	var errs []error
	for _, l := range lines {
		if m := lineRE.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			errs = append(errs, &Error{File: file, Line: n, Msg: m[2]})
			continue
		}
		errs = append(errs, &Error{File: file, Msg: strings.TrimPrefix(l, "yaml: ")})
	}
	return errors.Join(errs...)
}

func appendUnique(errs []error, joined error) []error {
	for _, e := range unjoin(joined) {
		if !slices.ContainsFunc(errs, func(x error) bool { return x.Error() == e.Error() }) {
			errs = append(errs, e)
		}
	}
	return errs
}

func sortErrors(errs []error) {
	sort.SliceStable(errs, func(i, j int) bool {
		a, _ := errs[i].(*Error)
		b, _ := errs[j].(*Error)
		if a == nil || b == nil {
			return false
		}
		return a.Line < b.Line
	})
}

// lineErr builds the error a custom unmarshaler returns: yaml.v3 collects
// *yaml.TypeError entries and keeps decoding, so all problems surface at once.
func lineErr(n *yaml.Node, format string, args ...any) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s", n.Line, fmt.Sprintf(format, args...))}}
}

// strict walks the YAML tree along the Go types and reports every mapping key
// that has no field — yaml.v3's KnownFields does not reach into custom
// unmarshalers, so the check is done here for the whole tree — and records
// the line of every path for later validation messages.
type strict struct {
	lines map[string]int
	errs  []lineMsg
}

type lineMsg struct {
	line int
	msg  string
}

var (
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	stepType        = reflect.TypeFor[Step]()
)

func (st *strict) errorf(n *yaml.Node, format string, args ...any) {
	st.errs = append(st.errs, lineMsg{n.Line, fmt.Sprintf(format, args...)})
}

func (st *strict) check(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if path != "" {
		if _, ok := st.lines[path]; !ok {
			st.lines[path] = n.Line
		}
	}
	if t == stepType {
		st.checkStep(n, path)
		return
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return // checks itself while decoding
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return // yaml.v3 reports the type error
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			ft, ok := fields[k.Value]
			p := join(path, k.Value)
			st.lines[p] = k.Line
			if !ok {
				st.errorf(k, "unknown field %q%s (valid: %s)", k.Value, where(path), strings.Join(sortedKeys(fields), ", "))
				continue
			}
			st.check(v, ft, p)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, item := range n.Content {
			st.check(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := join(path, n.Content[i].Value)
			st.lines[p] = n.Content[i].Line
			st.check(n.Content[i+1], t.Elem(), p)
		}
	}
}

// stepClasses maps each action type to the struct a step of that type
// decodes into: the common step fields plus the class's fields.
var stepClasses = map[string]reflect.Type{
	TypeNetwork:   reflect.TypeFor[networkStep](),
	TypeOutage:    reflect.TypeFor[outageStep](),
	TypePartition: reflect.TypeFor[partitionStep](),
	TypeProcess:   reflect.TypeFor[processStep](),
	TypeBroker:    reflect.TypeFor[brokerStep](),
	TypeInApp:     reflect.TypeFor[inAppStep](),
	TypeMessage:   reflect.TypeFor[messageStep](),
}

type stepCommon struct {
	Type     string   `yaml:"type"`
	Name     string   `yaml:"name"`
	At       Duration `yaml:"at"`
	Jitter   Duration `yaml:"jitter"`
	Duration Duration `yaml:"duration"`
	When     *When    `yaml:"when"`
	Until    *When    `yaml:"until"`
}

type (
	networkStep struct {
		stepCommon    `yaml:",inline"`
		NetworkAction `yaml:",inline"`
	}
	outageStep struct {
		stepCommon   `yaml:",inline"`
		OutageAction `yaml:",inline"`
	}
	partitionStep struct {
		stepCommon      `yaml:",inline"`
		PartitionAction `yaml:",inline"`
	}
	processStep struct {
		stepCommon    `yaml:",inline"`
		ProcessAction `yaml:",inline"`
	}
	brokerStep struct {
		stepCommon   `yaml:",inline"`
		BrokerAction `yaml:",inline"`
	}
	inAppStep struct {
		stepCommon  `yaml:",inline"`
		InAppAction `yaml:",inline"`
	}
	messageStep struct {
		stepCommon    `yaml:",inline"`
		MessageAction `yaml:",inline"`
	}
)

func stepTypeOf(n *yaml.Node) (string, *yaml.Node) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "type" {
			return n.Content[i+1].Value, n.Content[i+1]
		}
	}
	return "", nil
}

func (st *strict) checkStep(n *yaml.Node, path string) {
	if n.Kind != yaml.MappingNode {
		return
	}
	typ, tn := stepTypeOf(n)
	class, ok := stepClasses[typ]
	switch {
	case tn == nil:
		return // UnmarshalYAML reports the missing type
	case !ok:
		return // UnmarshalYAML reports the unknown type
	}
	fields := yamlFields(class)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p := join(path, k.Value)
		st.lines[p] = k.Line
		ft, ok := fields[k.Value]
		if !ok {
			st.errorf(k, "unknown field %q in a %s step (valid: %s)", k.Value, typ, strings.Join(sortedKeys(fields), ", "))
			continue
		}
		st.check(v, ft, p)
	}
}

// UnmarshalYAML decodes a step in two steps on its `type` field. It never
// fails: what does not decode is kept in the step and Parse reports it (a
// list element whose UnmarshalYAML fails would be dropped by yaml.v3,
// shifting the indices validation locates its errors by). A field that does
// not decode is left zero and the step keeps the rest, so validation still
// reports the step's other errors; a step without a known type has no Action.
func (s *Step) UnmarshalYAML(n *yaml.Node) error {
	*s = Step{line: n.Line}
	s.decodeErr = s.decode(n)
	return nil
}

func (s *Step) decode(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return lineErr(n, "a step must be a mapping with a type (one of %s)", strings.Join(ActionTypes, ", "))
	}
	typ, tn := stepTypeOf(n)
	if tn == nil {
		return lineErr(n, "step has no type (one of %s)", strings.Join(ActionTypes, ", "))
	}
	class, ok := stepClasses[typ]
	if !ok {
		return lineErr(tn, "unknown action type %q (valid: %s)", typ, strings.Join(ActionTypes, ", "))
	}
	v := reflect.New(class).Interface().(classStep)
	err := n.Decode(v)
	c, action := v.parts()
	*s = Step{Name: c.Name, At: c.At, Jitter: c.Jitter, Duration: c.Duration, When: c.When, Until: c.Until, Action: action, line: n.Line}
	return err
}

// stepErrors collects what did not decode in the scenario's steps.
func (s *Scenario) stepErrors() []error {
	lists := [][]Step{s.Method, s.Rollbacks}
	if s.Control != nil {
		lists = append(lists, s.Control.Method)
	}
	var errs []error
	for _, steps := range lists {
		for _, st := range steps {
			if st.decodeErr != nil {
				errs = append(errs, yamlErrors(s.file, st.decodeErr))
			}
		}
	}
	return errs
}

// classStep is a decoded step of one action class.
type classStep interface{ parts() (stepCommon, Action) }

func (s *networkStep) parts() (stepCommon, Action)   { return s.stepCommon, &s.NetworkAction }
func (s *outageStep) parts() (stepCommon, Action)    { return s.stepCommon, &s.OutageAction }
func (s *partitionStep) parts() (stepCommon, Action) { return s.stepCommon, &s.PartitionAction }
func (s *processStep) parts() (stepCommon, Action)   { return s.stepCommon, &s.ProcessAction }
func (s *brokerStep) parts() (stepCommon, Action)    { return s.stepCommon, &s.BrokerAction }
func (s *inAppStep) parts() (stepCommon, Action)     { return s.stepCommon, &s.InAppAction }
func (s *messageStep) parts() (stepCommon, Action)   { return s.stepCommon, &s.MessageAction }

// UnmarshalYAML reads Go duration text; a bare 0 is allowed.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return lineErr(n, "want a duration such as 2s or 1m30s")
	}
	if n.Value == "0" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return lineErr(n, "bad duration %q: want a number with a unit, such as 500ms, 2s or 1m30s", n.Value)
	}
	*d = Duration(v)
	return nil
}

// Requirement is one evidence requirement, written "COUNTER OP NUMBER".
type Requirement struct {
	history.Requirement
	line int
}

// UnmarshalYAML parses "dedup.skips > 0" and checks the counter name.
func (r *Requirement) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return lineErr(n, "evidence must be a string such as \"dedup.skips > 0\"")
	}
	req, err := history.ParseRequirement(n.Value)
	if err != nil {
		return lineErr(n, "%v", err)
	}
	if _, ok := history.LookupCounter(req.Counter); !ok {
		return lineErr(n, "unknown evidence counter %q%s", req.Counter, suggest(req.Counter, history.CounterNames()))
	}
	*r = Requirement{Requirement: req, line: n.Line}
	return nil
}

// UnmarshalYAML reads `pass` or `{violated: [TF2, …]}`.
func (e *Expect) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Value != "pass" {
			return lineErr(n, "expect must be pass or {violated: [TF…]}, not %q", n.Value)
		}
		*e = Expect{}
		return nil
	case yaml.MappingNode:
		var violated []string
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value != "violated" {
				return lineErr(k, "unknown field %q in expect (valid: violated)", k.Value)
			}
			if err := v.Decode(&violated); err != nil {
				return err
			}
			if len(violated) == 0 {
				return lineErr(v, "expect.violated names no invariant (use expect: pass)")
			}
		}
		*e = Expect{Violated: violated}
		return nil
	}
	return lineErr(n, "expect must be pass or {violated: [TF…]}")
}

// Protections switch protections per service: each protection is on or off
// for every service, or a mapping service → on/off. Unnamed protections and
// services are on.
type Protections map[string]Switch

// Switch is one protection's setting.
type Switch struct {
	All      *bool
	Services map[string]bool

	line  int            // the protection's line
	lines map[string]int // service → line
}

// UnmarshalYAML reads {dedup: off, ordering: {sla: off}}; the names are
// checked against the system's vocabulary by Validate.
func (p *Protections) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return lineErr(n, "protections must map a protection to on/off or to {service: on/off}")
	}
	out := Protections{}
	var errs []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		sw := Switch{line: k.Line}
		switch v.Kind {
		case yaml.ScalarNode:
			b, ok := onOff(v.Value)
			if !ok {
				errs = append(errs, fmt.Sprintf("line %d: %s must be on or off, not %q", v.Line, k.Value, v.Value))
				continue
			}
			sw.All = &b
		case yaml.MappingNode:
			sw.Services, sw.lines = map[string]bool{}, map[string]int{}
			for j := 0; j+1 < len(v.Content); j += 2 {
				sk, sv := v.Content[j], v.Content[j+1]
				sw.lines[sk.Value] = sk.Line
				b, ok := onOff(sv.Value)
				if !ok {
					errs = append(errs, fmt.Sprintf("line %d: %s.%s must be on or off, not %q", sv.Line, k.Value, sk.Value, sv.Value))
					continue
				}
				sw.Services[sk.Value] = b
			}
		default:
			errs = append(errs, fmt.Sprintf("line %d: %s must be on, off or {service: on/off}", v.Line, k.Value))
			continue
		}
		out[k.Value] = sw
	}
	if len(errs) > 0 {
		return &yaml.TypeError{Errors: errs}
	}
	*p = out
	return nil
}

func onOff(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "on", "true", "yes":
		return true, true
	case "off", "false", "no":
		return false, true
	}
	return false, false
}

// yamlFields maps yaml keys to field types, following inline embedding.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if strings.Contains(opts, "inline") {
			for k, v := range yamlFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

// YAMLKeys lists the keys a struct type accepts (used by the schema test).
func YAMLKeys(t reflect.Type) []string { return sortedKeys(yamlFields(t)) }

// StepKeys lists the keys a step of an action type accepts.
func StepKeys(actionType string) []string {
	c, ok := stepClasses[actionType]
	if !ok {
		return nil
	}
	return sortedKeys(yamlFields(c))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func where(path string) string {
	if path == "" {
		return ""
	}
	return " in " + path
}

// suggest returns ` (did you mean "x"?)` for a close name, else the valid list.
func suggest(got string, valid []string) string {
	best, bestD := "", 4
	for _, v := range valid {
		if d := levenshtein(got, v); d < bestD {
			best, bestD = v, d
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return " (valid: " + strings.Join(valid, ", ") + ")"
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

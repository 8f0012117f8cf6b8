package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/ticketflow-lab/tflab/scenarios"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
)

// A Form is the inject form of one fault class, generated from the scenario
// file's JSON Schema (the <type>Step definitions): the console lists no fault
// names of its own.
type Form struct {
	Type        string // action type: network, message, …
	Description string
	Fields      []Field

	voc spec.Vocabulary // the lab's system's, for Decode
}

// A Field is one input of a Form; Name is its dotted path in a step
// ("fault", "match.messageType", "attributes.latency").
type Field struct {
	Name        string
	Kind        string   // select, multi, list (comma-separated), integer, number, duration, text
	Options     []string // select and multi
	Required    bool
	Description string
}

// stepFields a console injection leaves out: when and what to call it are
// the console's (a fault stays until healed).
var stepFields = []string{"type", "name", "at", "jitter", "duration"}

// serviceFields are the fields that name the targeted service.
var serviceFields = []string{"service", "link"}

// Forms builds one Form per action type from the scenario schema of the
// system whose vocabulary is voc.
func Forms(voc spec.Vocabulary) ([]Form, error) {
	var schema struct {
		Defs map[string]json.RawMessage `json:"$defs"`
	}
	raw, err := scenarios.SchemaFor(voc)
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	if err := json.Unmarshal(raw, &schema); err != nil {
		return nil, fmt.Errorf("console: read the scenario schema: %w", err)
	}
	var forms []Form
	for _, typ := range spec.ActionTypes {
		raw, ok := schema.Defs[typ+"Step"]
		if !ok {
			return nil, fmt.Errorf("console: the scenario schema has no %sStep", typ)
		}
		var def schemaNode
		if err := json.Unmarshal(raw, &def); err != nil {
			return nil, fmt.Errorf("console: %sStep: %w", typ, err)
		}
		f := Form{Type: typ, Description: def.Description, voc: voc}
		f.Fields = fieldsOf(schema.Defs, def, "")
		forms = append(forms, f)
	}
	return forms, nil
}

type schemaNode struct {
	Ref           string                `json:"$ref"`
	Type          string                `json:"type"`
	Description   string                `json:"description"`
	Enum          []any                 `json:"enum"`
	Required      []string              `json:"required"`
	Properties    map[string]schemaNode `json:"properties"`
	Items         *schemaNode           `json:"items"`
	PropertyNames *schemaNode           `json:"propertyNames"`
	AnyOf         []schemaNode          `json:"anyOf"`
}

// resolve follows a local $ref, keeping the referring node's description.
func resolve(defs map[string]json.RawMessage, n schemaNode) schemaNode {
	if n.Ref == "" {
		return n
	}
	var out schemaNode
	if raw, ok := defs[strings.TrimPrefix(n.Ref, "#/$defs/")]; ok {
		_ = json.Unmarshal(raw, &out)
	}
	if n.Ref == "#/$defs/duration" {
		out.Type = "duration"
	}
	if n.Description != "" {
		out.Description = n.Description
	}
	return resolve(defs, out)
}

func fieldsOf(defs map[string]json.RawMessage, obj schemaNode, prefix string) []Field {
	var fields []Field
	for _, k := range sortedProps(obj.Properties) {
		if prefix == "" && slices.Contains(stepFields, k) {
			continue
		}
		n := resolve(defs, obj.Properties[k])
		f := Field{Name: prefix + k, Description: n.Description, Required: slices.Contains(obj.Required, k)}
		switch {
		case len(n.Enum) > 0:
			f.Kind, f.Options = "select", strs(n.Enum)
		case n.Type == "array" && n.Items != nil && len(resolve(defs, *n.Items).Enum) > 0:
			f.Kind, f.Options = "multi", strs(resolve(defs, *n.Items).Enum)
		case n.Type == "array":
			// no choices to list (a split's minority nodes): typed, comma-separated
			f.Kind = "list"
		case n.Type == "object" && n.PropertyNames != nil:
			// a map of integers (a toxic's attributes): one field per key
			for _, key := range strs(n.PropertyNames.Enum) {
				fields = append(fields, Field{Name: prefix + k + "." + key, Kind: "integer"})
			}
			continue
		case n.Type == "object":
			fields = append(fields, fieldsOf(defs, n, prefix+k+".")...)
			continue
		case n.Type == "integer" || n.Type == "number" || n.Type == "duration":
			f.Kind = n.Type
		default:
			f.Kind = "text"
		}
		fields = append(fields, f)
	}
	// The targeted service and the class's own choice come first.
	slices.SortStableFunc(fields, func(a, b Field) int { return rank(a) - rank(b) })
	return fields
}

func rank(f Field) int {
	switch {
	case slices.Contains(serviceFields, f.Name):
		return 0
	case f.Required:
		return 1
	case strings.Contains(f.Name, "."):
		return 3
	}
	return 2
}

func sortedProps(m map[string]schemaNode) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func strs(vs []any) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		out = append(out, fmt.Sprint(v))
	}
	return out
}

// FieldErrors maps a field (dotted name, "" for the form as a whole) to why
// its value was refused.
type FieldErrors map[string]string

func (fe FieldErrors) Error() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(fe)) {
		if k == "" {
			parts = append(parts, fe[k])
		} else {
			parts = append(parts, k+": "+fe[k])
		}
	}
	return strings.Join(parts, "; ")
}

var plainNumber = regexp.MustCompile(`^[-+]?[0-9][0-9.eE+-]*$`)

// Decode turns a submitted form into the action a scenario step with the
// same fields would run. It writes the fields as a one-step scenario file
// and parses it with scenarios/spec, so a form is refused exactly where a
// scenario file would be, with the same reasons; each reason is keyed by
// its field.
func (f Form) Decode(values url.Values) (spec.Action, error) {
	var b strings.Builder
	line := 1
	lines := map[int]string{}
	emit := func(field, text string) {
		b.WriteString(text)
		b.WriteByte('\n')
		if field != "" {
			lines[line] = field
		}
		line++
	}
	emit("", "name: console")
	emit("", "system: "+f.voc.System)
	emit("", "description: a fault injected from the console")
	emit("", fmt.Sprintf("evidence: [%q]", history.CounterNames()[0]+" >= 0"))
	emit("", "workload: {inquiries: 1}")
	emit("", "method:")
	emit("", "  - type: "+f.Type)
	known := map[string]bool{}
	var parent string
	for _, fd := range f.Fields {
		known[fd.Name] = true
		vals := nonEmpty(values[fd.Name])
		if len(vals) == 0 {
			continue
		}
		path := strings.Split(fd.Name, ".")
		indent := "    "
		if len(path) > 1 {
			if parent != path[0] {
				emit(fd.Name, indent+path[0]+":")
				parent = path[0]
			}
			indent += "  "
		}
		key := path[len(path)-1]
		switch fd.Kind {
		case "multi":
			q := make([]string, len(vals))
			for i, v := range vals {
				q[i] = strconv.Quote(v)
			}
			emit(fd.Name, indent+key+": ["+strings.Join(q, ", ")+"]")
		case "list":
			var items []string
			for _, v := range vals {
				for item := range strings.SplitSeq(v, ",") {
					if item = strings.TrimSpace(item); item != "" {
						if !plainNumber.MatchString(item) {
							item = strconv.Quote(item)
						}
						items = append(items, item)
					}
				}
			}
			emit(fd.Name, indent+key+": ["+strings.Join(items, ", ")+"]")
		case "integer", "number":
			v := vals[0]
			if !plainNumber.MatchString(v) {
				v = strconv.Quote(v)
			}
			emit(fd.Name, indent+key+": "+v)
		default:
			emit(fd.Name, indent+key+": "+strconv.Quote(vals[0]))
		}
	}
	errs := FieldErrors{}
	for k, v := range values {
		if !known[k] && len(nonEmpty(v)) > 0 {
			errs[k] = fmt.Sprintf("not a field of a %s fault", f.Type)
		}
	}
	s, err := spec.Parse("console", []byte(b.String()), spec.Vocabularies{f.voc})
	if err != nil {
		for _, e := range unjoin(err) {
			var se *spec.Error
			if !errors.As(e, &se) {
				errs[""] = e.Error()
				continue
			}
			field, msg := lines[se.Line], se.Msg
			if p, rest, ok := strings.Cut(se.Msg, ": "); ok && strings.HasPrefix(p, "method[0]") {
				field, msg = strings.TrimPrefix(strings.TrimPrefix(p, "method[0]"), "."), rest
			}
			if old, ok := errs[field]; ok {
				msg = old + "; " + msg
			}
			errs[field] = msg
		}
	}
	// A reason about a group of fields ("attributes", "match") goes next to
	// the group's first field; one about no field of the form, to the top.
	for k, msg := range errs {
		if k == "" || known[k] {
			continue
		}
		delete(errs, k)
		to, text := "", k+": "+msg
		for _, fd := range f.Fields {
			if strings.HasPrefix(fd.Name, k+".") {
				to, text = fd.Name, msg
				break
			}
		}
		if old, ok := errs[to]; ok {
			text = old + "; " + text
		}
		errs[to] = text
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return s.Method[0].Action, nil
}

func nonEmpty(vs []string) []string {
	var out []string
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	return []error{err}
}

package catalog

import (
	"cmp"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/ticketflow-lab/tflab/scenarios/spec"
)

//go:embed *.yaml
var files embed.FS

// Catalog is the set of named scenarios built into tflab.
type Catalog struct {
	byName map[string]*spec.Scenario
	names  []string
}

// Load parses every embedded scenario file against the vocabularies of the
// known systems. Any invalid file or duplicate name is an error: the
// catalog is tested, so this only fails on a broken build.
func Load(vocs spec.Vocabularies) (*Catalog, error) {
	return load(files, vocs, false)
}

// LoadSystem parses the embedded scenario files of voc's system (a file's
// `system:`, spec.DefaultSystem when it has none) against voc, and skips
// the files of other systems unparsed.
func LoadSystem(voc spec.Vocabulary) (*Catalog, error) {
	return load(files, spec.Vocabularies{voc}, true)
}

// load parses the *.yaml files of fsys; with only, the files of systems
// outside vocs are skipped.
func load(fsys fs.FS, vocs spec.Vocabularies, only bool) (*Catalog, error) {
	c := &Catalog{byName: map[string]*spec.Scenario{}}
	entries, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	for _, name := range entries {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("catalog: %w", err)
		}
		if only {
			var head struct {
				System string `yaml:"system"`
			}
			if err := yaml.Unmarshal(data, &head); err != nil {
				return nil, fmt.Errorf("catalog: %s: %w", name, err)
			}
			if _, ok := vocs.Lookup(cmp.Or(head.System, spec.DefaultSystem)); !ok {
				continue
			}
		}
		s, err := spec.Parse(path.Join("catalog", name), data, vocs)
		if err != nil {
			return nil, fmt.Errorf("catalog: %w", err)
		}
		if s.Name+".yaml" != name {
			return nil, fmt.Errorf("catalog: %s holds scenario %q; name the file after the scenario", name, s.Name)
		}
		if _, dup := c.byName[s.Name]; dup {
			return nil, fmt.Errorf("catalog: duplicate scenario %q", s.Name)
		}
		c.byName[s.Name] = s
		c.names = append(c.names, s.Name)
	}
	sort.Strings(c.names)
	return c, nil
}

// Names lists the scenario names in order.
func (c *Catalog) Names() []string { return slices.Clone(c.names) }

// Get returns a scenario by name.
func (c *Catalog) Get(name string) (*spec.Scenario, bool) {
	s, ok := c.byName[name]
	return s, ok
}

// Lookup returns a scenario by name, or an error that lists the names.
func (c *Catalog) Lookup(name string) (*spec.Scenario, error) {
	if s, ok := c.byName[name]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("no scenario %q in the catalog (have: %s)", name, strings.Join(c.names, ", "))
}

// Tagged returns the scenarios carrying any of the tags (all when none), in name order.
func (c *Catalog) Tagged(tags ...string) []*spec.Scenario {
	var out []*spec.Scenario
	for _, n := range c.names {
		s := c.byName[n]
		if len(tags) == 0 || slices.ContainsFunc(tags, func(t string) bool { return slices.Contains(s.Tags, t) }) {
			out = append(out, s)
		}
	}
	return out
}

// Source returns the embedded file of a scenario, for `tflab scenarios show`.
func Source(name string) ([]byte, error) {
	b, err := files.ReadFile(name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("no scenario %q in the catalog", name)
	}
	return b, nil
}

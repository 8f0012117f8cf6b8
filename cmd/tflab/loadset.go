package main

import (
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// workloadBlock builds a workload block from a YAML file (the block
// itself, "" for none) and --set key=value pairs on top of it; each value
// is read as YAML, so prices=[5,10,15] is a list and payShare=0.5 a number.
func workloadBlock(file string, sets []string) (*yaml.Node, error) {
	block := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--workload: %w", err)
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("--workload %s: %w", file, err)
		}
		if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
			block = doc.Content[0]
		}
		if block.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("--workload %s: want a mapping of workload keys", file)
		}
	}
	for _, s := range sets {
		key, value, ok := strings.Cut(s, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			return nil, fmt.Errorf("--set %q: want key=value", s)
		}
		var v yaml.Node
		if err := yaml.Unmarshal([]byte(value), &v); err != nil {
			return nil, fmt.Errorf("--set %s: %w", key, err)
		}
		val := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: ""}
		if v.Kind == yaml.DocumentNode && len(v.Content) == 1 {
			val = v.Content[0]
		}
		replaced := false
		for i := 0; i+1 < len(block.Content); i += 2 {
			if block.Content[i].Value == key {
				block.Content[i+1], replaced = val, true
			}
		}
		if !replaced {
			block.Content = append(block.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, val)
		}
	}
	return block, nil
}

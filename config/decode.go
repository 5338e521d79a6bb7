package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// rename maps a deprecated key path to its replacement, both dotted mapping
// paths ("store.url" -> "store.dsn").
type rename struct{ Old, New string }

// renamedKeys lists deprecated keys still accepted. Add an entry when a key
// is renamed; remove it a release later.
var renamedKeys = []rename{}

// maxNodes bounds the nodes visited, aliases included.
const maxNodes = 100_000

// Load reads and parses a configuration file; problems name the path as given.
func Load(path string) (*Config, []Warning, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("config: read %s: %w", path, err)
	}
	return Parse(data, path)
}

// Parse decodes a configuration strictly, fills defaults and validates it.
// name is used in problem locations. The error is a *ValidationError listing
// every problem, or wraps ErrSyntax or ErrTooLarge. Warnings are returned even
// with an error.
func Parse(data []byte, name string) (*Config, []Warning, error) {
	return parse(data, name, renamedKeys)
}

func parse(data []byte, name string, renames []rename) (*Config, []Warning, error) {
	if len(data) > MaxSize {
		return nil, nil, fmt.Errorf("%w: %s", ErrTooLarge, name)
	}
	c := &Config{file: name, lines: make(map[string]int)}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && err != io.EOF {
		return nil, nil, fmt.Errorf("%w: %s: %w", ErrSyntax, name, err)
	}
	var problems []Problem
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		problems = append(problems, Problem{File: name, Line: extra.Line, Msg: "a config file holds one YAML document"})
	case err != io.EOF:
		return nil, nil, fmt.Errorf("%w: %s: %w", ErrSyntax, name, err)
	}
	var warnings []Warning
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		root := doc.Content[0]
		var ps []Problem
		warnings, ps = applyRenames(root, renames, name)
		problems = append(problems, ps...)
		d := &decoder{c: c}
		d.value(root, reflect.ValueOf(c).Elem(), "")
		problems = append(problems, d.problems...)
	}
	c.applyDefaults()
	// A value that failed to decode was left zero; validating it (or the
	// keys inside it) again would only repeat the problem.
	failed := make(map[string]bool, len(problems))
	for _, p := range problems {
		failed[p.Path] = true
	}
	var ve *ValidationError
	if err := c.Validate(); errors.As(err, &ve) {
		for _, p := range ve.Problems {
			if !underFailed(p.Path, failed) {
				problems = append(problems, p)
			}
		}
	}
	if len(problems) > 0 {
		sortProblems(problems)
		return nil, warnings, &ValidationError{Problems: problems}
	}
	return c, warnings, nil
}

// underFailed reports whether path or one of its ancestors failed to decode.
func underFailed(path string, failed map[string]bool) bool {
	for p := path; ; {
		if failed[p] {
			return true
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			return false
		}
		p = p[:i]
	}
}

// decoder walks a YAML node tree against a Go value, decoding scalars with
// the yaml library and checking structure itself so that every unknown key
// and type error is reported with its own line and path.
type decoder struct {
	c        *Config
	problems []Problem
	visited  int
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	d.problems = append(d.problems, Problem{File: d.c.file, Line: n.Line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if d.visited++; d.visited > maxNodes {
		if d.visited == maxNodes+1 {
			d.fail(n, path, "document too large or too deeply aliased")
		}
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // "key:" with no value keeps the zero value
	}
	t := v.Type()
	switch {
	case reflect.PointerTo(t).Implements(unmarshalerType) || t.Kind() != reflect.Struct && t.Kind() != reflect.Slice:
		if n.Kind != yaml.ScalarNode {
			d.fail(n, path, "want a single value, not a %s", kindName(n.Kind))
			return
		}
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.fail(n, path, "want %s", typeName(t))
		}
	case t.Kind() == reflect.Struct:
		d.mapping(n, v, path)
	default: // slice
		if n.Kind != yaml.SequenceNode {
			d.fail(n, path, "want a list, not a %s", kindName(n.Kind))
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			d.c.lines[p] = item.Line
			d.value(item, s.Index(i), p)
		}
		v.Set(s)
	}
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "want a mapping of keys, not a %s", kindName(n.Kind))
		return
	}
	fields := yamlFields(v.Type())
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		p := join(path, k.Value)
		idx, ok := fields[k.Value]
		first, repeated := seen[k.Value]
		switch {
		case k.Kind != yaml.ScalarNode:
			d.fail(k, path, "keys must be plain names")
		case repeated:
			d.fail(k, p, "key repeated (first at line %d)", first)
		case k.Tag == "!!merge":
			d.fail(k, p, "merge keys (<<) are not supported; write the keys out")
		case !ok:
			d.fail(k, p, "unknown key; valid keys here: %s", validKeys(fields))
		default:
			seen[k.Value] = k.Line
			d.c.lines[p] = k.Line
			d.value(val, v.Field(idx), p)
		}
	}
}

// yamlFields maps each exported field's yaml name to its index.
func yamlFields(t reflect.Type) map[string]int {
	out := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		out[name] = i
	}
	return out
}

func validKeys(fields map[string]int) string {
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "single value"
	}
	return "alias"
}

func typeName(t reflect.Type) string {
	if t == reflect.TypeFor[Duration]() {
		return "a duration such as 30s or 2h"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Float64, reflect.Float32:
		return "a number"
	case reflect.Bool:
		return "true or false"
	}
	return t.String()
}

// applyRenames moves each deprecated key present in root to its new path.
func applyRenames(root *yaml.Node, renames []rename, file string) ([]Warning, []Problem) {
	var warns []Warning
	var probs []Problem
	for _, r := range renames {
		oldParts, newParts := strings.Split(r.Old, "."), strings.Split(r.New, ".")
		parent := lookup(root, oldParts[:len(oldParts)-1], false, 0)
		if parent == nil {
			continue
		}
		i := keyIndex(parent, oldParts[len(oldParts)-1])
		if i < 0 {
			continue
		}
		key, val := parent.Content[i], parent.Content[i+1]
		dest := lookup(root, newParts[:len(newParts)-1], true, key.Line)
		newKey := newParts[len(newParts)-1]
		parent.Content = append(parent.Content[:i:i], parent.Content[i+2:]...)
		if dest == nil || keyIndex(dest, newKey) >= 0 {
			probs = append(probs, Problem{File: file, Line: key.Line, Path: r.Old,
				Msg: fmt.Sprintf("deprecated key and its replacement %s are both set; keep only %s", r.New, r.New)})
			continue
		}
		key.Value = newKey
		dest.Content = append(dest.Content, key, val)
		warns = append(warns, Warning{File: file, Line: key.Line, Path: r.Old,
			Msg: fmt.Sprintf("deprecated: renamed to %s; update the file", r.New)})
	}
	return warns, probs
}

// lookup returns the mapping at path under root, creating empty mappings
// when create is set; nil if a step is missing or not a mapping.
func lookup(root *yaml.Node, path []string, create bool, line int) *yaml.Node {
	n := root
	for _, k := range path {
		if n.Kind != yaml.MappingNode {
			return nil
		}
		i := keyIndex(n, k)
		if i < 0 {
			if !create {
				return nil
			}
			key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k, Line: line}
			val := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: line}
			n.Content = append(n.Content, key, val)
			n = val
			continue
		}
		n = n.Content[i+1]
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	return n
}

func keyIndex(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Kind == yaml.ScalarNode && m.Content[i].Value == key {
			return i
		}
	}
	return -1
}

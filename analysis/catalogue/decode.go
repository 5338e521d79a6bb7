package catalogue

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/usapp/usapp/framework"
)

// MaxFileSize bounds one catalogue file; the embedded data is far smaller.
const MaxFileSize = 4 << 20

// at is the position of one list item, kept for cross-reference errors
// that can only be found once every file is read.
type at struct {
	line int
	path string
}

type subclassDef struct {
	s    Subclass
	path string
}

type controlDef struct {
	c         Control
	path      string
	mitigates []at
	refs      []at
}

type threatDef struct {
	t    Threat
	path string
	refs []at
}

type referenceDef struct {
	r    Reference
	path string
}

// fileDefs is one file's entries, decoded and checked on their own; checks
// across files happen in merge.
type fileDefs struct {
	name       string
	subclasses []*subclassDef
	controls   []*controlDef
	threats    []*threatDef
	references []*referenceDef
}

type decoder struct {
	file string
	errs []*Error
}

func (d *decoder) fail(line int, path string, kind error, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...), Err: kind})
}

// yamlLine finds the line in the YAML library's syntax errors, which carry
// it only in their text.
var yamlLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?`)

// decodeFile parses one file strictly. It never panics: the YAML library is
// guarded, aliases are refused before any walk, and every node kind is
// checked before use.
func decodeFile(name string, data []byte) (defs *fileDefs, errs []*Error) {
	d := &decoder{file: name}
	defs = &fileDefs{name: name}
	if len(data) > MaxFileSize {
		d.fail(0, "", ErrTooLarge, "file holds %d bytes; limit %d", len(data), MaxFileSize)
		return defs, d.errs
	}
	docs, err := parseYAML(data)
	if err != nil {
		line, msg := 0, err.Error()
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = msg[len(m[0]):]
		}
		d.fail(line, "", ErrSyntax, "%s", msg)
		return defs, d.errs
	}
	if len(docs) > 1 {
		d.fail(docs[1].Line, "", ErrInvalid, "a catalogue file holds one YAML document")
		return defs, d.errs
	}
	if len(docs) == 0 || len(docs[0].Content) == 0 {
		return defs, nil // an empty file adds nothing
	}
	root := docs[0].Content[0]
	if n := findAlias(root); n != nil {
		d.fail(n.Line, "", ErrInvalid, "anchors and aliases are not supported")
		return defs, d.errs
	}
	d.mapping(root, "", map[string]field{
		"subclasses": {set: func(v *yaml.Node, p string) {
			d.list(v, p, func(n *yaml.Node, p string) { defs.subclasses = append(defs.subclasses, d.subclass(n, p)) })
		}},
		"controls": {set: func(v *yaml.Node, p string) {
			d.list(v, p, func(n *yaml.Node, p string) { defs.controls = append(defs.controls, d.control(n, p)) })
		}},
		"threats": {set: func(v *yaml.Node, p string) {
			d.list(v, p, func(n *yaml.Node, p string) { defs.threats = append(defs.threats, d.threat(n, p)) })
		}},
		"references": {set: func(v *yaml.Node, p string) {
			d.list(v, p, func(n *yaml.Node, p string) { defs.references = append(defs.references, d.reference(n, p)) })
		}},
	})
	d.duplicates(defs)
	return defs, d.errs
}

// parseYAML reads every document of data. The library is third-party code
// facing hostile input, so a panic in it becomes a syntax error.
func parseYAML(data []byte) (docs []*yaml.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			docs, err = nil, fmt.Errorf("yaml: parser failure: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, &n)
		if len(docs) > 1 {
			return docs, nil
		}
	}
}

func findAlias(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return n
	}
	for _, c := range n.Content {
		if a := findAlias(c); a != nil {
			return a
		}
	}
	return nil
}

type field struct {
	required bool
	set      func(v *yaml.Node, path string)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return "a scalar"
	}
	return "nothing"
}

// mapping walks a mapping node: unknown and repeated keys are errors, and so
// is every required key left out.
func (d *decoder) mapping(n *yaml.Node, path string, fields map[string]field) {
	if n.Kind != yaml.MappingNode {
		d.fail(n.Line, path, ErrInvalid, "want a mapping, got %s", kindName(n))
		return
	}
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	slices.Sort(names)
	seen := make(map[string]bool, len(fields))
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.fail(k.Line, path, ErrInvalid, "a key must be a scalar")
			continue
		}
		p := join(path, k.Value)
		f, ok := fields[k.Value]
		switch {
		case !ok:
			d.fail(k.Line, p, ErrUnknownKey, "unknown key %q; valid: %s", k.Value, strings.Join(names, ", "))
		case seen[k.Value]:
			d.fail(k.Line, p, ErrDuplicate, "key %q given twice", k.Value)
		default:
			seen[k.Value] = true
			f.set(v, p)
		}
	}
	for _, k := range names {
		if fields[k].required && !seen[k] {
			d.fail(n.Line, join(path, k), ErrMissing, "required field %q is missing", k)
		}
	}
}

func (d *decoder) list(n *yaml.Node, path string, item func(n *yaml.Node, path string)) {
	if n.Kind != yaml.SequenceNode {
		d.fail(n.Line, path, ErrInvalid, "want a list, got %s", kindName(n))
		return
	}
	for i, c := range n.Content {
		item(c, fmt.Sprintf("%s[%d]", path, i))
	}
}

func (d *decoder) str(n *yaml.Node, path string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		d.fail(n.Line, path, ErrInvalid, "want a string, got %s", kindName(n))
		return "", false
	}
	if strings.TrimSpace(n.Value) == "" {
		d.fail(n.Line, path, ErrInvalid, "must not be empty")
		return "", false
	}
	return n.Value, true
}

// strings decodes a list of strings, refusing empty lists (when nonEmpty)
// and repeated items, and checks each item with check when given.
func (d *decoder) strings(n *yaml.Node, path string, nonEmpty bool, check func(s string, line int, path string) bool) ([]string, []at) {
	if n.Kind != yaml.SequenceNode {
		d.fail(n.Line, path, ErrInvalid, "want a list, got %s", kindName(n))
		return nil, nil
	}
	if nonEmpty && len(n.Content) == 0 {
		d.fail(n.Line, path, ErrInvalid, "must list at least one item")
	}
	var out []string
	var pos []at
	for i, c := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		s, ok := d.str(c, p)
		if !ok {
			continue
		}
		if slices.Contains(out, s) {
			d.fail(c.Line, p, ErrDuplicate, "%q listed twice", s)
			continue
		}
		if check != nil && !check(s, c.Line, p) {
			continue
		}
		out = append(out, s)
		pos = append(pos, at{line: c.Line, path: p})
	}
	return out, pos
}

// enum decodes a list of vocabulary values; the error names the valid ones.
func enum[T ~string](d *decoder, n *yaml.Node, path, kind string, valid []T) []T {
	ss, _ := d.strings(n, path, true, func(s string, line int, p string) bool {
		if _, err := framework.Parse(kind, s, valid); err != nil {
			d.fail(line, p, ErrInvalid, "%v", err)
			return false
		}
		return true
	})
	out := make([]T, len(ss))
	for i, s := range ss {
		out[i] = T(s)
	}
	return out
}

// entryID is the form of threat and reference IDs: a namespace, a dot and a
// name ("EV.replay", "LINDDUN.DD", "NESCOR.AMI-01", "SG.AC").
var entryID = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*\.[A-Za-z0-9][A-Za-z0-9-]*$`)

// tag is the form of a service tag and of a package path element.
var tag = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

var pkgElem = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)

func (d *decoder) checkEntryID(s string, line int, path string) bool {
	if !entryID.MatchString(s) {
		d.fail(line, path, ErrInvalid, "id %q: want <namespace>.<name>, letters, digits and '-'", s)
		return false
	}
	return true
}

func (d *decoder) subclass(n *yaml.Node, path string) *subclassDef {
	x := &subclassDef{path: path, s: Subclass{Source: Source{File: d.file, Line: n.Line}}}
	d.mapping(n, path, map[string]field{
		"id": {required: true, set: func(v *yaml.Node, p string) {
			s, ok := d.str(v, p)
			if !ok {
				return
			}
			id, err := framework.Parse("subclass", s, framework.Subclasses)
			if err != nil {
				d.fail(v.Line, p, ErrInvalid, "%v", err)
				return
			}
			x.s.ID, x.s.Class = id, id.Class()
		}},
		"name":    {required: true, set: func(v *yaml.Node, p string) { x.s.Name, _ = d.str(v, p) }},
		"purpose": {required: true, set: func(v *yaml.Node, p string) { x.s.Purpose, _ = d.str(v, p) }},
	})
	return x
}

func (d *decoder) control(n *yaml.Node, path string) *controlDef {
	x := &controlDef{path: path, c: Control{Source: Source{File: d.file, Line: n.Line}}}
	c := &x.c
	var subLine int
	d.mapping(n, path, map[string]field{
		"id": {required: true, set: func(v *yaml.Node, p string) {
			s, ok := d.str(v, p)
			if !ok {
				return
			}
			if err := framework.ControlID(s).Validate(); err != nil {
				d.fail(v.Line, p, ErrInvalid, "%v", err)
				return
			}
			c.ID = framework.ControlID(s)
		}},
		"name": {required: true, set: func(v *yaml.Node, p string) { c.Name, _ = d.str(v, p) }},
		"subclass": {required: true, set: func(v *yaml.Node, p string) {
			s, ok := d.str(v, p)
			if !ok {
				return
			}
			sub, err := framework.Parse("subclass", s, framework.Subclasses)
			if err != nil {
				d.fail(v.Line, p, ErrInvalid, "%v", err)
				return
			}
			c.Subclass, c.Class, subLine = sub, sub.Class(), v.Line
		}},
		"layers":       {required: true, set: func(v *yaml.Node, p string) { c.Layers = enum(d, v, p, "layer", framework.Layers) }},
		"requirements": {required: true, set: func(v *yaml.Node, p string) { c.Requirements = enum(d, v, p, "requirement", framework.Requirements) }},
		"mitigates": {required: true, set: func(v *yaml.Node, p string) {
			c.Mitigates, x.mitigates = d.strings(v, p, true, d.checkEntryID)
		}},
		"references": {set: func(v *yaml.Node, p string) {
			c.References, x.refs = d.strings(v, p, false, d.checkEntryID)
		}},
		"cost": {required: true, set: func(v *yaml.Node, p string) {
			var cost int
			if v.Kind != yaml.ScalarNode || v.Tag != "!!int" || v.Decode(&cost) != nil {
				d.fail(v.Line, p, ErrInvalid, "want an integer from 1 to 10")
				return
			}
			if cost < 1 || cost > 10 {
				d.fail(v.Line, p, ErrInvalid, "cost %d out of range 1..10", cost)
				return
			}
			c.Cost = cost
		}},
		"package": {set: func(v *yaml.Node, p string) {
			if v.Kind == yaml.ScalarNode && v.Tag == "!!str" && v.Value == "" {
				return // explicitly none
			}
			s, ok := d.str(v, p)
			if !ok {
				return
			}
			for _, e := range strings.Split(s, "/") {
				if !pkgElem.MatchString(e) || e == "." || e == ".." {
					d.fail(v.Line, p, ErrInvalid, "package %q: want a slash-separated path relative to the module root", s)
					return
				}
			}
			c.Package = s
		}},
		"services": {set: func(v *yaml.Node, p string) {
			c.Services, _ = d.strings(v, p, false, func(s string, line int, p string) bool {
				if !tag.MatchString(s) {
					d.fail(line, p, ErrInvalid, "service %q: want lower-case letters, digits and '-'", s)
					return false
				}
				return true
			})
		}},
		"description": {required: true, set: func(v *yaml.Node, p string) { c.Description, _ = d.str(v, p) }},
	})
	if c.ID != "" && c.Subclass != "" && c.ID.Subclass() != c.Subclass {
		d.fail(subLine, join(path, "subclass"), ErrInvalid, "subclass %s does not match the id prefix of %s", c.Subclass, c.ID)
	}
	return x
}

func (d *decoder) threat(n *yaml.Node, path string) *threatDef {
	x := &threatDef{path: path, t: Threat{Source: Source{File: d.file, Line: n.Line}}}
	t := &x.t
	d.mapping(n, path, map[string]field{
		"id": {required: true, set: func(v *yaml.Node, p string) {
			if s, ok := d.str(v, p); ok && d.checkEntryID(s, v.Line, p) {
				t.ID = s
			}
		}},
		"name": {required: true, set: func(v *yaml.Node, p string) { t.Name, _ = d.str(v, p) }},
		"kind": {required: true, set: func(v *yaml.Node, p string) {
			s, ok := d.str(v, p)
			if !ok {
				return
			}
			k, err := framework.Parse("threat kind", s, ThreatKinds)
			if err != nil {
				d.fail(v.Line, p, ErrInvalid, "%v", err)
				return
			}
			t.Kind = k
		}},
		"requirements": {required: true, set: func(v *yaml.Node, p string) { t.Requirements = enum(d, v, p, "requirement", framework.Requirements) }},
		"description":  {required: true, set: func(v *yaml.Node, p string) { t.Description, _ = d.str(v, p) }},
		"references": {set: func(v *yaml.Node, p string) {
			t.References, x.refs = d.strings(v, p, false, d.checkEntryID)
		}},
	})
	return x
}

func (d *decoder) reference(n *yaml.Node, path string) *referenceDef {
	x := &referenceDef{path: path, r: Reference{Source: Source{File: d.file, Line: n.Line}}}
	d.mapping(n, path, map[string]field{
		"id": {required: true, set: func(v *yaml.Node, p string) {
			if s, ok := d.str(v, p); ok && d.checkEntryID(s, v.Line, p) {
				x.r.ID = s
			}
		}},
		"name": {required: true, set: func(v *yaml.Node, p string) { x.r.Name, _ = d.str(v, p) }},
	})
	return x
}

// duplicates reports an ID defined twice in one file; across files a later
// definition replaces an earlier one instead.
func (d *decoder) duplicates(f *fileDefs) {
	dup := func(kind, id string, line int, path string, seen map[string]Source) {
		if id == "" {
			return
		}
		if first, ok := seen[id]; ok {
			d.fail(line, join(path, "id"), ErrDuplicate, "%s %q already defined at line %d", kind, id, first.Line)
			return
		}
		seen[id] = Source{File: d.file, Line: line}
	}
	seen := map[string]Source{}
	for _, x := range f.subclasses {
		dup("subclass", string(x.s.ID), x.s.Source.Line, x.path, seen)
	}
	seen = map[string]Source{}
	for _, x := range f.controls {
		dup("control", string(x.c.ID), x.c.Source.Line, x.path, seen)
	}
	seen = map[string]Source{}
	for _, x := range f.threats {
		dup("threat", x.t.ID, x.t.Source.Line, x.path, seen)
	}
	seen = map[string]Source{}
	for _, x := range f.references {
		dup("reference", x.r.ID, x.r.Source.Line, x.path, seen)
	}
}

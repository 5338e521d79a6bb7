package model

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/usapp/usapp/framework"
)

// The decoder walks a yaml.Node tree into the Go types with reflection, so
// the keys it accepts are exactly the struct tags (schema_test.go checks
// schema.json against the same tags). It keeps every node's line, reports
// every problem with file, line and field path, and never stops at the first.

// enumParsers checks string-kinded fields against their closed vocabulary.
var enumParsers = map[reflect.Type]func(string) error{
	reflect.TypeFor[framework.Domain]():       enumOf("domain", framework.Domains),
	reflect.TypeFor[framework.Category]():     enumOf("category", framework.Categories),
	reflect.TypeFor[framework.Layer]():        enumOf("layer", framework.Layers),
	reflect.TypeFor[framework.Requirement]():  enumOf("requirement", framework.Requirements),
	reflect.TypeFor[framework.DataCategory](): enumOf("data category", framework.DataCategories),
	reflect.TypeFor[ComponentType]():          enumOf("component type", ComponentTypes),
	reflect.TypeFor[BoundaryKind]():           enumOf("trust boundary kind", BoundaryKinds),
	reflect.TypeFor[DataKind]():               enumOf("data kind", DataKinds),
	reflect.TypeFor[Encryption]():             enumOf("encryption", Encryptions),
	reflect.TypeFor[framework.ControlID](): func(s string) error {
		if err := framework.ControlID(s).Validate(); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		return nil
	},
}

func enumOf[T ~string](kind string, valid []T) func(string) error {
	return func(s string) error {
		if _, err := framework.Parse(kind, s, valid); err != nil {
			return fmt.Errorf("%w: %w", ErrUnknownValue, err)
		}
		return nil
	}
}

var (
	durationType = reflect.TypeFor[Duration]()
	posType      = reflect.TypeFor[Pos]()
)

// maxNodes bounds the work alias expansion can cause ("billion laughs").
const maxNodes = 1 << 20

// maxNesting bounds recursion through aliases and nested collections.
const maxNesting = 64

type decoder struct {
	file  string
	errs  *collector
	lines map[string]int // field path -> line, for later semantic errors
	nodes int
}

func (d *decoder) fail(n *yaml.Node, path string, cause error, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.errs.add(&Error{File: d.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...), Err: cause})
}

// decode fills v from n. Paths use dots for keys and [i] for items.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, depth int) {
	d.nodes++
	if d.nodes > maxNodes || depth > maxNesting {
		if d.nodes == maxNodes+1 || depth == maxNesting+1 {
			d.fail(n, path, ErrTooLarge, "document too large or too deeply nested once aliases are expanded")
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		d.decode(n.Alias, v, path, depth+1)
		return
	}
	if path != "" {
		if _, seen := d.lines[path]; !seen {
			d.lines[path] = n.Line
		}
	}
	if !standardTag(n) {
		d.fail(n, path, ErrType, "yaml tag %q is not supported", n.Tag)
		return
	}
	if isNull(n) {
		return // an empty value is the zero value; "required" looks at presence
	}
	t := v.Type()
	if parse, ok := enumParsers[t]; ok {
		if s, ok := d.scalar(n, path); ok {
			if err := parse(s); err != nil {
				d.fail(n, path, err, "%s", causeText(err))
				return
			}
			v.SetString(s)
		}
		return
	}
	if t == durationType {
		if s, ok := d.scalar(n, path); ok {
			dur, err := ParseDuration(s)
			if err != nil {
				d.fail(n, path, ErrInvalid, "bad duration %s", err)
				return
			}
			v.SetInt(int64(dur))
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v, path, depth)
	case reflect.Slice:
		d.decodeSlice(n, v, path, depth)
	case reflect.Map:
		d.decodeMap(n, v, path, depth)
	case reflect.String:
		if s, ok := d.scalar(n, path); ok {
			v.SetString(s)
		}
	case reflect.Bool:
		d.decodeBool(n, v, path)
	case reflect.Int:
		d.decodeInt(n, v, path)
	case reflect.Float64:
		d.decodeFloat(n, v, path)
	default:
		d.fail(n, path, ErrType, "internal: no decoder for %s", t)
	}
}

// causeText strips the sentinel's "model: ..." prefix from a joined error so
// the message reads once.
func causeText(err error) string {
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		if parts := u.Unwrap(); len(parts) == 2 {
			return parts[1].Error()
		}
	}
	return err.Error()
}

// standardTag accepts the YAML core schema tags; local tags ("!x") and
// binary data have no meaning in a model.
func standardTag(n *yaml.Node) bool {
	switch n.ShortTag() {
	case "!!str", "!!int", "!!float", "!!bool", "!!null", "!!map", "!!seq", "!!timestamp":
		return true
	}
	return false
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a scalar"
	}
	return "something else"
}

func (d *decoder) scalar(n *yaml.Node, path string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, ErrType, "want a single value, got %s", kindName(n))
		return "", false
	}
	return n.Value, true
}

func (d *decoder) decodeBool(n *yaml.Node, v reflect.Value, path string) {
	s, ok := d.scalar(n, path)
	if !ok {
		return
	}
	b, err := strconv.ParseBool(s)
	if n.ShortTag() != "!!bool" || err != nil {
		d.fail(n, path, ErrType, "want true or false, got %q", s)
		return
	}
	v.SetBool(b)
}

func (d *decoder) decodeInt(n *yaml.Node, v reflect.Value, path string) {
	if _, ok := d.scalar(n, path); !ok {
		return
	}
	var i int
	if n.ShortTag() != "!!int" || n.Decode(&i) != nil {
		d.fail(n, path, ErrType, "want a whole number, got %q", n.Value)
		return
	}
	v.SetInt(int64(i))
}

func (d *decoder) decodeFloat(n *yaml.Node, v reflect.Value, path string) {
	if _, ok := d.scalar(n, path); !ok {
		return
	}
	var f float64
	tag := n.ShortTag()
	if tag != "!!int" && tag != "!!float" || n.Decode(&f) != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		d.fail(n, path, ErrType, "want a number, got %q", n.Value)
		return
	}
	v.SetFloat(f)
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string, depth int) {
	if n.Kind != yaml.SequenceNode {
		d.fail(n, path, ErrType, "want a list, got %s", kindName(n))
		return
	}
	isStruct := v.Type().Elem().Kind() == reflect.Struct
	out := reflect.MakeSlice(v.Type(), 0, len(n.Content))
	for i, item := range n.Content {
		sub := fmt.Sprintf("%s[%d]", path, i)
		target := resolveAlias(item)
		if target == nil || isNull(target) {
			d.fail(item, sub, ErrType, "empty list item")
			continue
		}
		elem := reflect.New(v.Type().Elem()).Elem()
		d.decode(item, elem, sub, depth+1)
		// An element that is not even a mapping is reported once, here, and
		// left out so later checks do not pile up noise about its fields.
		if isStruct && target.Kind != yaml.MappingNode {
			continue
		}
		out = reflect.Append(out, elem)
	}
	v.Set(out)
}

// resolveAlias follows a chain of aliases to the node they name; nil when
// the chain is too long (yaml.v3 rejects true cycles itself).
func resolveAlias(n *yaml.Node) *yaml.Node {
	for range maxNesting {
		if n == nil || n.Kind != yaml.AliasNode {
			return n
		}
		n = n.Alias
	}
	return nil
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string, depth int) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, ErrType, "want a mapping, got %s", kindName(n))
		return
	}
	out := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key, ok := d.key(k, path)
		if !ok {
			continue
		}
		sub := join(path, key)
		if out.MapIndex(reflect.ValueOf(key)).IsValid() {
			d.fail(k, sub, ErrDuplicate, "key %q given twice", key)
			continue
		}
		elem := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, elem, sub, depth+1)
		out.SetMapIndex(reflect.ValueOf(key), elem)
	}
	v.Set(out)
}

func (d *decoder) key(k *yaml.Node, path string) (string, bool) {
	if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!null" || k.Value == "" {
		d.fail(k, path, ErrType, "keys must be non-empty plain strings")
		return "", false
	}
	if k.Value == "<<" && k.Tag == "!!merge" {
		d.fail(k, path, ErrUnknownKey, "merge keys (<<) are not supported")
		return "", false
	}
	return k.Value, true
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// field is one YAML key of a struct.
type field struct {
	key      string
	index    int
	required bool
}

// fieldsOf lists the YAML keys a struct accepts, in declaration order.
func fieldsOf(t reflect.Type) []field {
	var out []field
	for i := range t.NumField() {
		f := t.Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || key == "" || key == "-" {
			continue
		}
		out = append(out, field{key: key, index: i, required: f.Tag.Get("model") == "required"})
	}
	return out
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string, depth int) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, ErrType, "want a mapping, got %s", kindName(n))
		return
	}
	fields := fieldsOf(v.Type())
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key, ok := d.key(k, path)
		if !ok {
			continue
		}
		sub := join(path, key)
		j := slices.IndexFunc(fields, func(f field) bool { return f.key == key })
		if j < 0 {
			d.fail(k, sub, ErrUnknownKey, "unknown key %q; valid: %s", key, keyList(fields))
			continue
		}
		if seen[key] {
			d.fail(k, sub, ErrDuplicate, "key %q given twice", key)
			continue
		}
		if !isNull(val) {
			seen[key] = true
		}
		d.lines[sub] = k.Line // the key's line reads best, even for block values
		before := len(d.errs.list)
		d.decode(val, v.Field(fields[j].index), sub, depth+1)
		fv := v.Field(fields[j].index)
		if fields[j].required && len(d.errs.list) == before && fv.Kind() == reflect.String && fv.String() == "" {
			d.fail(k, sub, ErrMissing, "required key %q is empty", key)
		}
	}
	for _, f := range fields {
		if f.required && !seen[f.key] {
			d.fail(n, join(path, f.key), ErrMissing, "required key %q missing", f.key)
		}
	}
	for i := range v.NumField() {
		if v.Type().Field(i).Type == posType {
			v.Field(i).Set(reflect.ValueOf(Pos{File: d.file, Line: n.Line, Path: path}))
		}
	}
}

func keyList(fields []field) string {
	keys := make([]string, len(fields))
	for i, f := range fields {
		keys[i] = f.key
	}
	return strings.Join(keys, ", ")
}

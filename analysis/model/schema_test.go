package model

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/usapp/usapp/framework"
)

// TestSchemaMatchesTypes walks the Go types the loader decodes into and
// schema.json side by side: every key the loader accepts is in the schema and
// every schema property is a key the loader accepts, with the same required
// keys, closed objects, JSON types and enum values.
func TestSchemaMatchesTypes(t *testing.T) {
	var root map[string]any
	if err := json.Unmarshal(Schema(), &root); err != nil {
		t.Fatal(err)
	}
	if root["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Fatalf("$schema = %v", root["$schema"])
	}
	s := schemaWalker{t: t, root: root}
	s.object("(root)", reflect.TypeFor[Model](), root)
	if s.objects < 10 || s.enums < 9 {
		t.Fatalf("walked %d objects and %d enums; the walk is missing parts", s.objects, s.enums)
	}
}

type schemaWalker struct {
	t              *testing.T
	root           map[string]any
	objects, enums int
}

// resolve follows a local $ref.
func (s *schemaWalker) resolve(node map[string]any) map[string]any {
	for {
		ref, ok := node["$ref"].(string)
		if !ok {
			return node
		}
		name, found := strings.CutPrefix(ref, "#/$defs/")
		def, ok := s.root["$defs"].(map[string]any)[name].(map[string]any)
		if !found || !ok {
			s.t.Fatalf("dangling $ref %q", ref)
		}
		node = def
	}
}

func (s *schemaWalker) object(where string, typ reflect.Type, node map[string]any) {
	s.objects++
	node = s.resolve(node)
	if node["type"] != "object" || node["additionalProperties"] != false {
		s.t.Errorf("%s: want a closed object (additionalProperties: false)", where)
	}
	props, _ := node["properties"].(map[string]any)
	var keys, required []string
	for _, f := range fieldsOf(typ) {
		keys = append(keys, f.key)
		if f.required {
			required = append(required, f.key)
		}
		p, ok := props[f.key].(map[string]any)
		if !ok {
			s.t.Errorf("%s: loader accepts %q, schema lacks it", where, f.key)
			continue
		}
		s.value(where+"."+f.key, typ.Field(f.index).Type, p)
	}
	for k := range props {
		if !slices.Contains(keys, k) {
			s.t.Errorf("%s: schema has %q, loader rejects it", where, k)
		}
	}
	var schemaRequired []string
	for _, r := range asList(node["required"]) {
		schemaRequired = append(schemaRequired, r.(string))
	}
	slices.Sort(required)
	slices.Sort(schemaRequired)
	if !slices.Equal(required, schemaRequired) {
		s.t.Errorf("%s: required %v in Go, %v in schema", where, required, schemaRequired)
	}
}

func (s *schemaWalker) value(where string, typ reflect.Type, node map[string]any) {
	node = s.resolve(node)
	if _, isEnum := enumParsers[typ]; isEnum && typ.Name() != "ControlID" {
		s.enums++
		s.enum(where, typ, node)
		return
	}
	switch {
	case typ == durationType || typ.Kind() == reflect.String:
		s.jsonType(where, node, "string")
	case typ.Kind() == reflect.Bool:
		s.jsonType(where, node, "boolean")
	case typ.Kind() == reflect.Int:
		s.jsonType(where, node, "integer")
	case typ.Kind() == reflect.Float64:
		s.jsonType(where, node, "number")
	case typ.Kind() == reflect.Struct:
		s.object(where, typ, node)
	case typ.Kind() == reflect.Slice:
		s.jsonType(where, node, "array")
		items, _ := node["items"].(map[string]any)
		s.value(where+"[]", typ.Elem(), items)
	case typ.Kind() == reflect.Map:
		s.jsonType(where, node, "object")
		vals, _ := node["additionalProperties"].(map[string]any)
		if typ.Elem().Kind() == reflect.String {
			return // params: scalars of any kind, read as strings
		}
		s.value(where+".*", typ.Elem(), vals)
	default:
		s.t.Errorf("%s: no schema rule for %s", where, typ)
	}
}

func (s *schemaWalker) jsonType(where string, node map[string]any, want string) {
	if node == nil || node["type"] != want {
		s.t.Errorf("%s: schema type %v, want %s", where, node["type"], want)
	}
}

// enum checks the schema's list against the Go vocabulary by asking the
// loader's own parser about each value, and the reverse via the Go list.
func (s *schemaWalker) enum(where string, typ reflect.Type, node map[string]any) {
	parse := enumParsers[typ]
	values := asList(node["enum"])
	if len(values) == 0 {
		s.t.Errorf("%s: schema has no enum for %s", where, typ)
	}
	var listed []string
	for _, v := range values {
		str, _ := v.(string)
		listed = append(listed, str)
		if parse(str) != nil {
			s.t.Errorf("%s: schema allows %q, loader rejects it", where, str)
		}
	}
	// Every Go value is in the schema: the loader's error lists the valid
	// values, so compare with what it offers for an impossible one.
	err := parse("\x00")
	for _, v := range validFrom(err) {
		if !slices.Contains(listed, v) {
			s.t.Errorf("%s: loader accepts %q, schema lacks it", where, v)
		}
	}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func validFrom(err error) []string {
	var ue *framework.UnknownError
	if errors.As(err, &ue) {
		return ue.Valid
	}
	return nil
}

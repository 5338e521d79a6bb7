package model

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/usapp/usapp/framework"
)

func TestExamplesLoad(t *testing.T) {
	for _, tc := range []struct {
		file              string
		components, flows int
	}{
		{"../../examples/ev-charging.yaml", 16, 26},
		{"../../examples/home-metering.yaml", 14, 17},
	} {
		m, err := Load(tc.file)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if len(m.Components) != tc.components || len(m.Flows) != tc.flows {
			t.Errorf("%s: %d components, %d flows; want %d, %d", tc.file, len(m.Components), len(m.Flows), tc.components, tc.flows)
		}
		if len(m.Files) != 2 || m.Files[1] != "../../examples/common/utility.yaml" {
			t.Errorf("%s: files %v, want the root then common/utility.yaml", tc.file, m.Files)
		}
		// Every reference resolves through the lookups the engine will use.
		for _, f := range m.Flows {
			if m.Component(f.From) == nil || m.Component(f.To) == nil {
				t.Errorf("%s: flow %s does not resolve", tc.file, f.ID)
			}
			if !slices.Contains(m.FlowsFrom(f.From), m.Flow(f.ID)) || !slices.Contains(m.FlowsTo(f.To), m.Flow(f.ID)) {
				t.Errorf("%s: flow %s missing from FlowsFrom/FlowsTo", tc.file, f.ID)
			}
		}
		if m.Component("uta-headend").Pos.File != "../../examples/common/utility.yaml" {
			t.Errorf("%s: included component lost its file", tc.file)
		}
	}
}

func TestEVExampleContent(t *testing.T) {
	m, err := Load("../../examples/ev-charging.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cs := m.Flow("evagg-cs")
	if cs == nil || cs.From != "evagg-platform" || cs.To != "evb" || cs.Protection.ReplayProtected || cs.Data[0].Kind != ControlSignal {
		t.Fatalf("evagg-cs = %+v; want EVAGG->EVb control signal without replay protection", cs)
	}
	if p := m.Flow("uta-price").Protection; p.Authenticated || p.Encrypted != NoEnc {
		t.Errorf("uta-price is meant to be weak, got %+v", p)
	}
	if d := m.Flow("evb-telemetry").Data[0]; d.Frequency != Duration(1e9) || !d.Attributable {
		t.Errorf("evb-telemetry datum = %+v", d)
	}
	if got := m.Stakeholder("ub").Trusts["uta"]; got != 0 {
		t.Errorf("ub trusts uta %g", got)
	}
	if c := m.Component("ua-evse"); c.Domain != framework.DEREV || c.TrustBoundary != "home-ua" || m.TrustBoundary("home-ua").Kind != HomeBoundary {
		t.Errorf("ua-evse placement = %+v", c)
	}
	want := []framework.ControlID{"A1.enrolment", "A2.end-to-end-encryption", "B3.integrity-feedback", "C3.load-hiding"}
	for _, id := range want {
		if !slices.ContainsFunc(m.Controls, func(c Control) bool { return c.ID == id }) {
			t.Errorf("control %s not deployed", id)
		}
	}
	if u := m.UseCase("uc-ancillary-services"); u == nil || !slices.Contains(u.Flows, "evagg-cs") {
		t.Errorf("use case = %+v", u)
	}
}

// base is a valid model whose line numbers the broken cases rely on.
const base = `model:
  name: t
stakeholders:
  - id: s
components:
  - id: a
    type: meter
    owner: s
    domain: house
    category: physical
    layer: component
  - id: b
    type: gateway
    owner: s
    domain: house
    category: cyber
    layer: network
flows:
  - id: f
    from: a
    to: b
    data:
      - {category: customer, kind: reading, frequency: 30m}
`

func edit(old, new string) string {
	if !strings.Contains(base, old) {
		panic("test edit does not apply: " + old)
	}
	return strings.Replace(base, old, new, 1)
}

const moreB = `components:
  - id: b
    type: hems
    owner: s
    domain: house
    category: cyber
    layer: function
`

func TestBrokenModels(t *testing.T) {
	withInclude := func(inc string) string { return edit("  name: t\n", "  name: t\n  includes: ["+inc+"]\n") }
	for _, tc := range []struct {
		name  string
		files map[string]string // main.yaml is the root
		file  string
		line  int
		path  string
		cause error
	}{
		{"unknown key", map[string]string{"main.yaml": edit("    layer: component\n", "    layer: component\n    colour: red\n")},
			"main.yaml", 12, "components[0].colour", ErrUnknownKey},
		{"unknown domain", map[string]string{"main.yaml": edit("domain: house\n    category: physical", "domain: home\n    category: physical")},
			"main.yaml", 9, "components[0].domain", ErrUnknownValue},
		{"dangling flow endpoint", map[string]string{"main.yaml": edit("to: b", "to: c")},
			"main.yaml", 21, "flows[0].to", ErrDangling},
		{"duplicate id across include", map[string]string{"main.yaml": withInclude("more.yaml"), "more.yaml": moreB},
			"more.yaml", 2, "components[0].id", ErrDuplicate},
		{"include cycle", map[string]string{"main.yaml": withInclude("b.yaml"), "b.yaml": "model:\n  includes:\n    - main.yaml\n"},
			"b.yaml", 3, "model.includes[0]", ErrIncludeCycle},
		{"missing include", map[string]string{"main.yaml": withInclude("nope.yaml")},
			"main.yaml", 3, "model.includes[0]", ErrInclude},
		{"bad duration", map[string]string{"main.yaml": edit("frequency: 30m", "frequency: 30 minutes")},
			"main.yaml", 23, "flows[0].data[0].frequency", ErrInvalid},
		{"bad control id", map[string]string{"main.yaml": base + "controls:\n  - {id: A1.Enrolment, at: a}\n"},
			"main.yaml", 25, "controls[0].id", ErrInvalid},
		{"control at unknown element", map[string]string{"main.yaml": base + "controls:\n  - id: A1.enrolment\n    at: s\n"},
			"main.yaml", 26, "controls[0].at", ErrDangling},
		{"trust out of range", map[string]string{"main.yaml": edit("  - id: s\n", "  - id: s\n    trusts:\n      s: 1.5\n")},
			"main.yaml", 6, "stakeholders[0].trusts.s", ErrInvalid},
		{"via repeats endpoint", map[string]string{"main.yaml": edit("    to: b\n", "    to: b\n    via: [a]\n")},
			"main.yaml", 22, "flows[0].via[0]", ErrInvalid},
		{"wrong yaml type", map[string]string{"main.yaml": edit("to: b", "to: [b]")},
			"main.yaml", 21, "flows[0].to", ErrType},
		{"missing required key", map[string]string{"main.yaml": edit("    type: meter\n", "")},
			"main.yaml", 6, "components[0].type", ErrMissing},
		{"bool that is not", map[string]string{"main.yaml": base + "    protection: {authenticated: yes}\n"},
			"main.yaml", 24, "flows[0].protection.authenticated", ErrType},
		{"syntax error", map[string]string{"main.yaml": base + "\t- x\n"},
			"main.yaml", 24, "", ErrSyntax},
		{"root without name", map[string]string{"main.yaml": edit("  name: t\n", "  version: \"2\"\n")},
			"main.yaml", 1, "model.name", ErrMissing},
		{"include climbs out", map[string]string{"main.yaml": withInclude("../x.yaml")},
			"main.yaml", 3, "model.includes[0]", ErrInclude},
		{"not applicable without reason", map[string]string{"main.yaml": base + "not_applicable:\n  - finding: T1\n    reason: \"\"\n"},
			"main.yaml", 26, "not_applicable[0].reason", ErrMissing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for name, text := range tc.files {
				fsys[name] = &fstest.MapFile{Data: []byte(text)}
			}
			_, err := LoadFS(fsys, "main.yaml")
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v (%T), want one *Error", err, err)
			}
			if e.File != tc.file || e.Line != tc.line || e.Path != tc.path || !errors.Is(e, tc.cause) {
				t.Fatalf("got %s:%d %q (%v), want %s:%d %q (%v)", e.File, e.Line, e.Path, e.Err, tc.file, tc.line, tc.path, tc.cause)
			}
			if e.Msg == "" || strings.HasPrefix(e.Msg, "model:") {
				t.Errorf("message %q should say what is wrong, once", e.Msg)
			}
		})
	}
}

func TestDuplicateNamesBothPlaces(t *testing.T) {
	fsys := fstest.MapFS{
		"main.yaml": {Data: []byte(edit("  name: t\n", "  name: t\n  includes: [more.yaml]\n"))},
		"more.yaml": {Data: []byte(moreB)},
	}
	_, err := LoadFS(fsys, "main.yaml")
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(e.Msg, "main.yaml:13") || e.File != "more.yaml" {
		t.Fatalf("err = %v; want the duplicate in more.yaml naming main.yaml:13", err)
	}
}

func TestCycleNamesTheChain(t *testing.T) {
	fsys := fstest.MapFS{
		"a.yaml": {Data: []byte("model:\n  name: a\n  includes: [b.yaml]\n")},
		"b.yaml": {Data: []byte("model:\n  includes: [a.yaml]\n")},
	}
	_, err := LoadFS(fsys, "a.yaml")
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrIncludeCycle) || !strings.Contains(e.Msg, "a.yaml -> b.yaml -> a.yaml") {
		t.Fatalf("err = %v", err)
	}
}

func TestSeveralProblemsAreAllReported(t *testing.T) {
	doc := edit("to: b", "to: c")
	doc = strings.Replace(doc, "domain: house\n    category: physical", "domain: home\n    category: physical", 1)
	doc = strings.Replace(doc, "layer: network", "layer: transport", 1)
	_, err := Parse([]byte(doc), "x.yaml")
	var l *Errors
	if !errors.As(err, &l) {
		t.Fatalf("err = %v (%T), want *Errors", err, err)
	}
	var got []string
	for _, e := range *l {
		got = append(got, e.Path)
	}
	// Decoding problems stop nothing: the dangling reference is found too,
	// and the list is in line order.
	want := []string{"components[0].domain", "components[1].layer", "flows[0].to"}
	if !slices.Equal(got, want) {
		t.Fatalf("paths %v, want %v", got, want)
	}
	var ue *framework.UnknownError
	if !errors.As(err, &ue) || ue.Kind != "domain" || len(ue.Valid) != 4 {
		t.Errorf("the unknown domain should carry framework.UnknownError, got %v", ue)
	}
}

func TestDiamondIncludeMergesOnce(t *testing.T) {
	fsys := fstest.MapFS{
		"main.yaml":       {Data: []byte(edit("  name: t\n", "  name: t\n  includes: [x/left.yaml, right.yaml]\n"))},
		"x/left.yaml":     {Data: []byte("model:\n  includes: [../shared.yaml]\n")},
		"right.yaml":      {Data: []byte("model:\n  includes: [shared.yaml]\n")},
		"shared.yaml":     {Data: []byte("trust_boundaries:\n  - {id: tb, kind: home}\n")},
		"unused/bad.yaml": {Data: []byte(":")},
	}
	m, err := LoadFS(fsys, "main.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.TrustBoundaries) != 1 || !slices.Equal(m.Files, []string{"main.yaml", "x/left.yaml", "shared.yaml", "right.yaml"}) {
		t.Fatalf("boundaries %d, files %v", len(m.TrustBoundaries), m.Files)
	}
}

func TestIncludeDepthIsBounded(t *testing.T) {
	fsys := fstest.MapFS{"f0.yaml": {Data: []byte("model:\n  name: deep\n  includes: [" + name(1) + "]\n")}}
	for i := 1; i <= MaxIncludeDepth+1; i++ {
		fsys[name(i)] = &fstest.MapFile{Data: []byte("model:\n  includes: [" + name(i+1) + "]\n")}
	}
	fsys[name(MaxIncludeDepth+2)] = &fstest.MapFile{Data: []byte("stakeholders: []\n")}
	_, err := LoadFS(fsys, "f0.yaml")
	var e *Error
	if !errors.As(err, &e) || !errors.Is(e, ErrTooDeep) || e.File != name(MaxIncludeDepth) || e.Line != 2 {
		t.Fatalf("err = %v", err)
	}
}

func name(i int) string { return "f" + strings.Repeat("x", i) + ".yaml" }

func TestSizeIsBounded(t *testing.T) {
	big := base + "# " + strings.Repeat("x", MaxFileSize) + "\n"
	if _, err := Parse([]byte(big), "big.yaml"); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Parse = %v", err)
	}
	fsys := fstest.MapFS{"big.yaml": {Data: []byte(big)}}
	if _, err := LoadFS(fsys, "big.yaml"); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("LoadFS = %v", err)
	}
	// Alias expansion is bounded too: nine levels of tenfold aliases.
	var b strings.Builder
	b.WriteString("model:\n  name: bomb\nstakeholders:\n  - id: s\n    goals: &a0 [x, x, x, x, x, x, x, x, x, x]\nuse_cases:\n")
	for i := 1; i < 9; i++ {
		b.WriteString("  - id: u" + string(rune('0'+i)) + "\n    flows: &a" + string(rune('0'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	if _, err := Parse([]byte(b.String()), "bomb.yaml"); err == nil {
		t.Fatal("alias bomb accepted")
	}
}

func TestParseRefusesIncludes(t *testing.T) {
	_, err := Parse([]byte(edit("  name: t\n", "  name: t\n  includes: [x.yaml]\n")), "m.yaml")
	var e *Error
	if !errors.As(err, &e) || !errors.Is(e, ErrInclude) || e.Path != "model.includes[0]" || e.Line != 3 {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/does-not-exist.yaml")
	var e *Error
	if !errors.As(err, &e) || !errors.Is(e, ErrInclude) || e.File != "testdata/does-not-exist.yaml" {
		t.Fatalf("err = %v", err)
	}
}

func TestDefaultsAreUnprotected(t *testing.T) {
	m, err := Parse([]byte(base), "m.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if p := m.Flow("f").Protection; p != (Protection{Encrypted: NoEnc}) {
		t.Fatalf("omitted protection = %+v", p)
	}
}

func TestHash(t *testing.T) {
	m1, err := Parse([]byte(base), "m.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The same content in another order and split across files.
	reordered := "model:\n  name: t\n  includes: [c.yaml]\nflows:\n  - id: f\n    from: a\n    to: b\n    protection: {encrypted: none}\n    data:\n      - {frequency: 30m, kind: reading, category: customer}\nstakeholders:\n  - id: s\n"
	comps := "components:\n  - {id: b, type: gateway, owner: s, domain: house, category: cyber, layer: network}\n  - {id: a, type: meter, owner: s, domain: house, category: physical, layer: component}\n"
	m2, err := LoadFS(fstest.MapFS{"m.yaml": {Data: []byte(reordered)}, "c.yaml": {Data: []byte(comps)}}, "m.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if m1.Hash() != m2.Hash() {
		t.Fatal("hash depends on order or file layout")
	}
	if len(m1.Hash()) != 64 || m1.Hash() != m1.Hash() {
		t.Fatal("hash is not a stable SHA-256 hex digest")
	}
	m3, err := Parse([]byte(base+"    protection: {authenticated: true}\n"), "m.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if m3.Hash() == m1.Hash() {
		t.Fatal("hash ignores a protection change")
	}
}

func TestLookupsWithoutIndex(t *testing.T) {
	m := &Model{
		Components: []Component{{ID: "a"}, {ID: "b"}},
		Flows:      []Flow{{ID: "f", From: "a", To: "b"}, {ID: "g", From: "a", To: "a"}},
	}
	check := func() {
		t.Helper()
		if m.Component("b") != &m.Components[1] || m.Flow("g") != &m.Flows[1] || m.Component("z") != nil {
			t.Fatal("Component/Flow lookups")
		}
		if got := m.FlowsFrom("a"); len(got) != 2 || got[0].ID != "f" {
			t.Fatalf("FlowsFrom = %v", got)
		}
		if got := m.FlowsTo("b"); len(got) != 1 || got[0].ID != "f" {
			t.Fatalf("FlowsTo = %v", got)
		}
	}
	check()
	m.Reindex()
	check()
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]string{"30m": "30m0s", "1s": "1s", "500ms": "500ms", "1d": "24h0m0s", "30d": "720h0m0s", "1h30m": "1h30m0s"} {
		d, err := ParseDuration(in)
		if err != nil || d.String() != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %s", in, d, err, want)
		}
	}
	for _, bad := range []string{"", "0s", "-1m", "1.5d", "d", "30", "1 m", "99999999d"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) accepted", bad)
		}
	}
}

func TestVocabulariesAreClosed(t *testing.T) {
	for _, list := range [][]string{
		strs(ComponentTypes), strs(BoundaryKinds), strs(DataKinds), strs(Encryptions),
	} {
		sorted := slices.Clone(list)
		slices.Sort(sorted)
		if len(slices.Compact(sorted)) != len(list) {
			t.Errorf("duplicates in %v", list)
		}
	}
	if !EVAggregator.Valid() || !HeadEnd.Valid() || ComponentType("smart-meter").Valid() || ComponentType("").Valid() {
		t.Error("ComponentType.Valid disagrees with ComponentTypes")
	}
	if len(ComponentTypes) != 21 || !DataKind("control-signal").Valid() || Encryption("tls").Valid() || !PublicBoundary.Valid() {
		t.Error("vocabulary changed without this test")
	}
}

func strs[T ~string](l []T) []string {
	out := make([]string, len(l))
	for i, v := range l {
		out[i] = string(v)
	}
	return out
}

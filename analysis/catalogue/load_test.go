package catalogue

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/usapp/usapp/framework"
)

// control is a valid user control; tests break one line of it. Line numbers
// below count from "controls:" on line 1.
const control = `controls:
  - id: A1.test-control
    name: Test control
    subclass: A1
    layers: [network]
    mitigates: [EV.replay]
    requirements: [integrity]
    cost: 2
    description: A control for tests.
`

func writeFile(t *testing.T, name, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOverrideReplacesControl(t *testing.T) {
	p := writeFile(t, "site.yaml", `controls:
  - id: A1.enrolment
    name: Enrolment, site variant
    subclass: A1
    layers: [business]
    mitigates: [EV.replay]
    requirements: [authentication]
    cost: 9
    package: comms/pki
    description: Our own enrolment process.
`)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := c.Control(framework.Enrolment)
	if x.Cost != 9 || x.Name != "Enrolment, site variant" || !slices.Equal(x.Mitigates, []string{"EV.replay"}) {
		t.Errorf("override not applied: %+v", x)
	}
	if x.Source != (Source{File: p, Line: 2}) {
		t.Errorf("source = %+v", x.Source)
	}
	// The override moved the control off the threats it used to mitigate.
	for _, y := range c.ControlsFor("NESCOR.AMI-08") {
		if y.ID == framework.Enrolment {
			t.Error("replaced control still indexed under its old threats")
		}
	}
	notes := c.Notes()
	if len(notes) != 1 || notes[0].Kind != "control" || notes[0].ID != "A1.enrolment" ||
		notes[0].By != (Source{File: p, Line: 2}) || notes[0].Replaced.File != embeddedPrefix+"controls-a.yaml" {
		t.Errorf("notes = %+v", notes)
	}
	// The default catalogue is untouched.
	d, _ := mustDefault(t).Control(framework.Enrolment)
	if d.Cost == 9 || len(mustDefault(t).Notes()) != 0 {
		t.Error("Load changed the default catalogue")
	}
	if len(c.Controls()) != len(mustDefault(t).Controls()) {
		t.Error("an override changed the number of controls")
	}
}

func TestExtensionAddsEntries(t *testing.T) {
	threats := writeFile(t, "threats.yaml", `threats:
  - id: SITE.tamper-seal
    name: Broken tamper seal
    kind: failure
    requirements: [integrity]
    description: A seal found broken at inspection.
    references: [SG.PE]
`)
	controls := writeFile(t, "controls.yaml", `controls:
  - id: C3.seal-check
    name: Seal check
    subclass: C3
    layers: [component]
    mitigates: [SITE.tamper-seal]
    requirements: [integrity]
    cost: 1
    services: [inspect]
    description: Inspect seals on every visit.
`)
	c, err := Load(threats, controls)
	if err != nil {
		t.Fatal(err)
	}
	base := mustDefault(t)
	if len(c.Controls()) != len(base.Controls())+1 || len(c.Threats()) != len(base.Threats())+1 {
		t.Errorf("controls %d threats %d; want one more of each", len(c.Controls()), len(c.Threats()))
	}
	got := c.ControlsFor("SITE.tamper-seal")
	if len(got) != 1 || got[0].ID != "C3.seal-check" || got[0].Class != framework.Control {
		t.Fatalf("ControlsFor = %+v", got)
	}
	if cl := c.ClassesFor("SITE.tamper-seal"); !slices.Equal(cl, []framework.Class{framework.Control}) {
		t.Errorf("ClassesFor = %v", cl)
	}
	if len(c.Notes()) != 0 {
		t.Errorf("notes for pure extension: %+v", c.Notes())
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "absent.yaml"))
	var e *Error
	if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &e) || !strings.HasSuffix(e.File, "absent.yaml") {
		t.Fatalf("err = %v", err)
	}
}

func TestBrokenFiles(t *testing.T) {
	cases := []struct {
		name string
		data string
		line int
		path string
		err  error
		msg  string // a fragment the message must hold
	}{
		{"unknown key", control + "    colour: red\n", 10, "controls[0].colour", ErrUnknownKey, "valid: cost, description"},
		{"bad layer", strings.Replace(control, "[network]", "[network, transport]", 1), 5, "controls[0].layers[1]", ErrInvalid, `unknown layer "transport"; valid: [business function information network component]`},
		{"dangling mitigates", strings.Replace(control, "[EV.replay]", "[EV.replay, EV.nope]", 1), 6, "controls[0].mitigates[1]", ErrDangling, `"EV.nope"`},
		{"duplicate id", control + strings.TrimPrefix(control, "controls:\n"), 10, "controls[1].id", ErrDuplicate, "already defined at line 2"},
		{"cost zero", strings.Replace(control, "cost: 2", "cost: 0", 1), 8, "controls[0].cost", ErrInvalid, "out of range 1..10"},
		{"cost not integer", strings.Replace(control, "cost: 2", "cost: cheap", 1), 8, "controls[0].cost", ErrInvalid, "integer"},
		{"subclass mismatch", strings.Replace(control, "subclass: A1", "subclass: B1", 1), 4, "controls[0].subclass", ErrInvalid, "does not match"},
		{"bad control id", strings.Replace(control, "A1.test-control", "D4.test", 1), 2, "controls[0].id", ErrInvalid, "unknown subclass"},
		{"missing name", strings.Replace(control, "    name: Test control\n", "", 1), 2, "controls[0].name", ErrMissing, "required"},
		{"bad requirement", strings.Replace(control, "[integrity]", "[secrecy]", 1), 7, "controls[0].requirements[0]", ErrInvalid, "unknown requirement"},
		{"repeated layer", strings.Replace(control, "[network]", "[network, network]", 1), 5, "controls[0].layers[1]", ErrDuplicate, "twice"},
		{"bad package", strings.Replace(control, "cost: 2", "cost: 2\n    package: ../etc", 1), 9, "controls[0].package", ErrInvalid, "relative"},
		{"name not string", strings.Replace(control, "name: Test control", "name: [a]", 1), 3, "controls[0].name", ErrInvalid, "want a string"},
		{"controls not list", "controls: {}\n", 1, "controls", ErrInvalid, "want a list"},
		{"unknown top key", "rules: []\n", 1, "rules", ErrUnknownKey, "valid: controls, references, subclasses, threats"},
		{"bad threat kind", "threats:\n  - id: X.y\n    name: n\n    kind: mishap\n    requirements: [integrity]\n    description: d\n", 4, "threats[0].kind", ErrInvalid, "unknown threat kind"},
		{"dangling threat reference", "threats:\n  - id: X.y\n    name: n\n    kind: failure\n    requirements: [integrity]\n    description: d\n    references: [SG.AC, SG.ZZ]\n", 7, "threats[0].references[1]", ErrDangling, `"SG.ZZ"`},
		{"bad threat id", "threats:\n  - id: nodot\n    name: n\n    kind: failure\n    requirements: [integrity]\n    description: d\n", 2, "threats[0].id", ErrInvalid, "namespace"},
		{"bad subclass", "subclasses:\n  - id: D1\n    name: n\n    purpose: p\n", 2, "subclasses[0].id", ErrInvalid, "unknown subclass"},
		{"syntax", "controls:\n  - id: [\n", 2, "", ErrSyntax, "did not find expected node content"},
		{"alias", "controls:\n  - &c {id: A1.x}\n  - *c\n", 2, "", ErrInvalid, "aliases"},
		{"two documents", control + "---\n" + control, 10, "", ErrInvalid, "one YAML document"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadFiles(File{Name: "user.yaml", Data: []byte(tc.data)})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v (%T), want *Error", err, err)
			}
			if _, many := err.(*Errors); many {
				t.Fatalf("want exactly one problem, got %v", err)
			}
			if e.File != "user.yaml" || e.Line != tc.line || e.Path != tc.path || !errors.Is(err, tc.err) {
				t.Errorf("got %s:%d %q %v; want user.yaml:%d %q %v", e.File, e.Line, e.Path, e.Err, tc.line, tc.path, tc.err)
			}
			if !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("msg %q lacks %q", e.Msg, tc.msg)
			}
		})
	}
}

func TestSeveralProblemsInOrder(t *testing.T) {
	bad := strings.Replace(control, "cost: 2", "cost: 11", 1)
	bad = strings.Replace(bad, "[network]", "[wire]", 1)
	_, err := LoadFiles(
		File{Name: "a.yaml", Data: []byte(bad)},
		File{Name: "b.yaml", Data: []byte("threats: 3\n")},
	)
	var es *Errors
	if !errors.As(err, &es) {
		t.Fatalf("err = %v, want *Errors", err)
	}
	var got []string
	for _, e := range *es {
		got = append(got, e.File+":"+e.Path)
	}
	want := []string{"a.yaml:controls[0].layers[0]", "a.yaml:controls[0].cost", "b.yaml:threats"}
	if !slices.Equal(got, want) {
		t.Errorf("problems %v, want %v", got, want)
	}
	if !errors.Is(err, ErrInvalid) || len(*es) != 3 {
		t.Errorf("err = %v", err)
	}
}

func TestDuplicateAcrossUserFilesOverrides(t *testing.T) {
	second := strings.Replace(control, "cost: 2", "cost: 5", 1)
	c, err := LoadFiles(File{Name: "one.yaml", Data: []byte(control)}, File{Name: "two.yaml", Data: []byte(second)})
	if err != nil {
		t.Fatal(err)
	}
	x, _ := c.Control("A1.test-control")
	n := c.Notes()
	if x.Cost != 5 || len(n) != 1 || n[0].Replaced != (Source{File: "one.yaml", Line: 2}) || n[0].By != (Source{File: "two.yaml", Line: 2}) {
		t.Errorf("control %+v notes %+v", x, n)
	}
}

func TestCrossFileCitation(t *testing.T) {
	// The control cites a threat defined in a later file; checks run after
	// every file is read.
	ctrl := strings.Replace(control, "[EV.replay]", "[SITE.later]", 1)
	threat := "threats:\n  - {id: SITE.later, name: n, kind: security, requirements: [integrity], description: d}\n"
	c, err := LoadFiles(File{Name: "c.yaml", Data: []byte(ctrl)}, File{Name: "t.yaml", Data: []byte(threat)})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.ControlsFor("SITE.later"); len(got) != 1 {
		t.Errorf("ControlsFor = %v", got)
	}
}

func TestEmptyFileAddsNothing(t *testing.T) {
	c, err := LoadFiles(File{Name: "empty.yaml", Data: []byte("# nothing yet\n")})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Controls()) != len(mustDefault(t).Controls()) {
		t.Error("an empty file changed the catalogue")
	}
}

func TestTooLarge(t *testing.T) {
	_, err := LoadFiles(File{Name: "big.yaml", Data: make([]byte, MaxFileSize+1)})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v", err)
	}
}

func BenchmarkLoadWithUserFile(b *testing.B) {
	if _, err := Default(); err != nil {
		b.Fatal(err)
	}
	f := File{Name: "user.yaml", Data: []byte(control)}
	for b.Loop() {
		if _, err := LoadFiles(f); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/load")
}

func BenchmarkParseEmbedded(b *testing.B) {
	files, err := embeddedFiles()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		defs, errs := decodeAll(files)
		if len(errs) > 0 {
			b.Fatal(errs[0])
		}
		if _, err := build(defs, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/parse")
}

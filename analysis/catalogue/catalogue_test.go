package catalogue

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/usapp/usapp/framework"
	"github.com/usapp/usapp/internal/modroot"
)

func mustDefault(t testing.TB) *Catalogue {
	t.Helper()
	c, err := Default()
	if err != nil {
		t.Fatalf("Default: %v", err)
	}
	return c
}

func TestDefaultIsParsedOnce(t *testing.T) {
	a, b := mustDefault(t), mustDefault(t)
	if a != b {
		t.Fatal("Default returned two different catalogues")
	}
	c, err := Load()
	if err != nil || c != a {
		t.Fatalf("Load() with no files = %p, %v; want the default %p", c, err, a)
	}
}

func TestDefaultSize(t *testing.T) {
	c := mustDefault(t)
	if n := len(c.Controls()); n < 60 {
		t.Errorf("%d controls, want at least 60", n)
	}
	subs := c.Subclasses()
	if len(subs) != 9 {
		t.Fatalf("%d subclasses, want 9", len(subs))
	}
	for i, s := range subs {
		if s.ID != framework.Subclasses[i] || s.Class != s.ID.Class() || s.Name == "" || s.Purpose == "" {
			t.Errorf("subclass %d = %+v", i, s)
		}
		if n := len(c.ControlsIn(s.ID)); n < 4 {
			t.Errorf("subclass %s has %d controls, want at least 4", s.ID, n)
		}
	}
}

func TestDefaultControlsAreWellFormed(t *testing.T) {
	c := mustDefault(t)
	ctrls := c.Controls()
	if !slices.IsSortedFunc(ctrls, func(a, b Control) int { return strings.Compare(string(a.ID), string(b.ID)) }) {
		t.Error("Controls() not sorted by id")
	}
	for _, x := range ctrls {
		if x.Subclass != x.ID.Subclass() || x.Class != x.Subclass.Class() {
			t.Errorf("%s: subclass %s class %s", x.ID, x.Subclass, x.Class)
		}
		if x.Name == "" || x.Description == "" || len(x.Layers) == 0 || len(x.Requirements) == 0 || len(x.Mitigates) == 0 {
			t.Errorf("%s: incomplete: %+v", x.ID, x)
		}
		if len(x.Services) == 0 {
			t.Errorf("%s: no services; overlap detection needs them", x.ID)
		}
		if x.Cost < 1 || x.Cost > 10 {
			t.Errorf("%s: cost %d", x.ID, x.Cost)
		}
		if !strings.HasPrefix(x.Source.File, embeddedPrefix) || x.Source.Line == 0 {
			t.Errorf("%s: source %+v", x.ID, x.Source)
		}
	}
}

func TestDefaultThreats(t *testing.T) {
	c := mustDefault(t)
	ev := []string{
		"EV.false-control-signal", "EV.false-price-signal", "EV.false-optimisation-method",
		"EV.false-network-state-signal", "EV.software-bugs", "EV.malicious-software",
		"EV.crypto-protocol-bugs", "EV.poor-key-storage", "EV.replay", "EV.ddos-evagg",
		"EV.lack-of-accountability", "EV.sensitive-data-disclosure", "EV.identity-location-privacy",
	}
	linddun := map[string]string{
		"LINDDUN.L": "Linking", "LINDDUN.I": "Identifying", "LINDDUN.N": "Non-repudiation",
		"LINDDUN.D": "Detecting", "LINDDUN.DD": "Data disclosure", "LINDDUN.U": "Unawareness",
		"LINDDUN.NC": "Non-compliance",
	}
	for _, id := range ev {
		if _, ok := c.Threat(id); !ok {
			t.Errorf("EV threat %s missing", id)
		}
	}
	for id, name := range linddun {
		th, ok := c.Threat(id)
		if !ok || th.Name != name || th.Kind != Privacy {
			t.Errorf("LINDDUN %s = %+v, %v; want name %q, kind privacy", id, th, ok, name)
		}
	}
	counts := map[string]int{}
	threats := c.Threats()
	if !slices.IsSortedFunc(threats, func(a, b Threat) int { return strings.Compare(a.ID, b.ID) }) {
		t.Error("Threats() not sorted by id")
	}
	for _, th := range threats {
		ns, _, _ := strings.Cut(th.ID, ".")
		counts[ns]++
		if th.Name == "" || th.Description == "" || len(th.Requirements) == 0 {
			t.Errorf("%s incomplete: %+v", th.ID, th)
		}
		if ns == "NESCOR" && th.Kind != Failure {
			t.Errorf("%s: kind %s, want failure", th.ID, th.Kind)
		}
	}
	if counts["EV"] != len(ev) || counts["LINDDUN"] != len(linddun) || counts["NESCOR"] < 15 {
		t.Errorf("threats per namespace = %v; want EV 13, LINDDUN 7, NESCOR >= 15", counts)
	}
}

func TestNISTIRFamilies(t *testing.T) {
	c := mustDefault(t)
	want := strings.Fields("AC AT AU CA CM CP IA ID IR MA MP PE PL PM PS RA SA SC SI")
	refs := c.References()
	if len(refs) != len(want) {
		t.Fatalf("%d references, want %d NISTIR 7628 families", len(refs), len(want))
	}
	for i, r := range refs {
		if r.ID != "SG."+want[i] || r.Name == "" {
			t.Errorf("reference %d = %+v, want SG.%s", i, r, want[i])
		}
	}
	if r, ok := c.Reference("SG.AC"); !ok || r.Name != "Access Control" {
		t.Errorf("SG.AC = %+v, %v", r, ok)
	}
}

// knownGaps lists threats that no catalogue control mitigates. It is empty
// today; a change to the data that opens or closes a gap must update it.
var knownGaps = []string{}

func TestEveryThreatIsMitigated(t *testing.T) {
	c := mustDefault(t)
	var gaps []string
	for _, th := range c.Threats() {
		ctrls := c.ControlsFor(th.ID)
		if len(ctrls) == 0 {
			gaps = append(gaps, th.ID)
			continue
		}
		classes := c.ClassesFor(th.ID)
		if len(classes) == 0 {
			t.Errorf("%s: mitigated but in no class", th.ID)
		}
		for _, x := range ctrls {
			if !slices.Contains(x.Mitigates, th.ID) {
				t.Errorf("ControlsFor(%s) returned %s, which does not mitigate it", th.ID, x.ID)
			}
			if !slices.Contains(classes, x.Class) {
				t.Errorf("ClassesFor(%s) = %v lacks %s of %s", th.ID, classes, x.Class, x.ID)
			}
		}
	}
	if !slices.Equal(gaps, knownGaps) {
		t.Errorf("unmitigated threats = %v, known gaps = %v", gaps, knownGaps)
	}
}

func TestLookupsReturnCopies(t *testing.T) {
	c := mustDefault(t)
	x, ok := c.Control(framework.Enrolment)
	if !ok {
		t.Fatal("A1.enrolment missing")
	}
	x.Mitigates[0] = "tampered"
	x.Layers[0] = "tampered"
	y, _ := c.Control(framework.Enrolment)
	if y.Mitigates[0] == "tampered" || y.Layers[0] == "tampered" {
		t.Fatal("a returned control shares slices with the catalogue")
	}
	if _, ok := c.Control("A1.no-such-control"); ok {
		t.Error("unknown control found")
	}
	if _, ok := c.Threat("EV.no-such"); ok {
		t.Error("unknown threat found")
	}
	if got := c.ControlsFor("EV.no-such"); got != nil {
		t.Errorf("ControlsFor(unknown) = %v", got)
	}
}

// implementedControls reads every ControlID constant declared in
// framework/, so a control added there is checked here without editing the
// test.
func implementedControls(t *testing.T, root string) []framework.ControlID {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "framework", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var ids []framework.ControlID
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "ControlID" {
					continue
				}
				for _, v := range vs.Values {
					if lit, ok := v.(*ast.BasicLit); ok && lit.Kind == token.STRING {
						ids = append(ids, framework.ControlID(strings.Trim(lit.Value, "\"`")))
					}
				}
			}
		}
	}
	return ids
}

func TestImplementedControlsAreCatalogued(t *testing.T) {
	root := modroot.Dir(t)
	ids := implementedControls(t, root)
	// The constants known when this test was written; more may follow.
	for _, id := range []framework.ControlID{framework.Enrolment, framework.EndToEndEncryption, framework.SpheresOfControl, framework.LoadHiding, framework.HEMSArbitration} {
		if !slices.Contains(ids, id) {
			t.Fatalf("constant %s not found by parsing framework/; the parser is wrong", id)
		}
	}
	c := mustDefault(t)
	for _, id := range ids {
		x, ok := c.Control(id)
		if !ok {
			t.Errorf("%s is implemented but not in the catalogue", id)
			continue
		}
		if x.Package == "" {
			t.Errorf("%s is implemented but has no package", id)
		}
	}
	// Every package the catalogue names must exist and mention the control.
	for _, x := range c.Controls() {
		if x.Package == "" {
			continue
		}
		dir := filepath.Join(root, filepath.FromSlash(x.Package))
		srcs, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		if len(srcs) == 0 {
			t.Errorf("%s: package %s has no Go files under %s", x.ID, x.Package, root)
			continue
		}
		if !mentions(t, srcs, string(x.ID)) {
			t.Errorf("%s: package %s never names the control", x.ID, x.Package)
		}
	}
}

func mentions(t *testing.T, files []string, s string) bool {
	t.Helper()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), s) {
			return true
		}
	}
	return false
}

func TestEmbeddedDuplicatesAreErrors(t *testing.T) {
	// Within the embedded data a repeated ID is a bug, not an override.
	defs, err := defaults()
	if err != nil {
		t.Fatal(err)
	}
	_, err = build(slices.Concat(defs, defs[:1]), nil)
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrDuplicate) || !strings.HasPrefix(e.File, embeddedPrefix) {
		t.Fatalf("err = %v", err)
	}
}

func TestThreatKindCounts(t *testing.T) {
	got := map[ThreatKind]int{}
	for _, th := range mustDefault(t).Threats() {
		got[th.Kind]++
	}
	// 11 security + 2 privacy EV threats, 7 LINDDUN types, 22 NESCOR-style scenarios.
	want := map[ThreatKind]int{Security: 11, Privacy: 9, Failure: 22}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s threats = %d, want %d", k, got[k], n)
		}
	}
}

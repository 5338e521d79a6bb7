package rules

import (
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/usapp/usapp/analysis/catalogue"
	"github.com/usapp/usapp/analysis/model"
	"github.com/usapp/usapp/internal/modroot"
)

// base is a small home/utility/aggregator world the rule tests add flows to.
const base = `
model: {name: fixture}
stakeholders: [{id: home}, {id: util}, {id: net}, {id: aggco}, {id: driver}]
trust_boundaries:
  - {id: h, kind: home}
  - {id: v, kind: vehicle}
  - {id: u, kind: utility}
  - {id: c, kind: third-party}
  - {id: n, kind: network}
components:
  - {id: meter, type: meter, owner: util, domain: house, category: physical, layer: component, trust_boundary: h}
  - {id: gw, type: gateway, owner: home, domain: house, category: cyber, layer: network, trust_boundary: h}
  - {id: hems, type: hems, owner: home, domain: house, category: cyber, layer: function, trust_boundary: h}
  - {id: evse, type: evse, owner: home, domain: der-ev, category: physical, layer: component, trust_boundary: h}
  - {id: pv, type: pv, owner: home, domain: der-ev, category: physical, layer: component, trust_boundary: h}
  - {id: ev, type: ev, owner: driver, domain: der-ev, category: physical, layer: component, trust_boundary: v}
  - {id: he, type: headend, owner: util, domain: retail, category: cyber, layer: function, trust_boundary: u}
  - {id: conc, type: concentrator, owner: net, domain: distribution, category: cyber, layer: network, trust_boundary: n}
  - {id: agg, type: ev-aggregator, owner: aggco, domain: der-ev, category: cyber, layer: function, trust_boundary: c}
`

const strong = `{authenticated: true, encrypted: end-to-end, integrity: true, replay_protected: true}`

func fixture(t testing.TB, extra string) *model.Model {
	t.Helper()
	m, err := model.Parse([]byte(base+extra), "fixture.yaml")
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return m
}

// run returns "element threat" strings, sorted, and checks every hit names
// a threat the rule declares.
func run(t *testing.T, r Rule, extra string) []string {
	t.Helper()
	var out []string
	for _, h := range r.Check(fixture(t, extra)) {
		if !slices.Contains(r.Threats(), h.Threat) {
			t.Errorf("%s raised undeclared threat %s", r.ID(), h.Threat)
		}
		if h.Reason == "" {
			t.Errorf("%s: hit without a reason", r.ID())
		}
		out = append(out, h.Element+" "+h.Threat)
	}
	sort.Strings(out)
	return out
}

func expect(t *testing.T, r Rule, extra string, want ...string) {
	t.Helper()
	got := run(t, r, extra)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got %q\nwant %q", r.ID(), got, want)
	}
}

func TestRegistrySortedUniqueAndKnown(t *testing.T) {
	cat, err := catalogue.Default()
	if err != nil {
		t.Fatal(err)
	}
	all := All()
	if len(all) < 10 {
		t.Fatalf("%d rules, want at least 10", len(all))
	}
	for i, r := range all {
		if i > 0 && all[i-1].ID() >= r.ID() {
			t.Errorf("registry not sorted/unique at %s", r.ID())
		}
		if r.Describe() == "" || len(r.Threats()) == 0 {
			t.Errorf("%s: empty description or threat list", r.ID())
		}
		for _, th := range r.Threats() {
			if _, ok := cat.Threat(th); !ok {
				t.Errorf("%s declares %s, which the catalogue does not know", r.ID(), th)
			}
		}
		if got, ok := ByID(r.ID()); !ok || got.ID() != r.ID() {
			t.Errorf("ByID(%s) failed", r.ID())
		}
	}
	if _, ok := ByID("no-such-rule"); ok {
		t.Error("ByID found a rule that does not exist")
	}
}

// TestStrongFlowRaisesNoTampering: a flow with every protection must not
// raise forgery, replay or tampering threats, whatever it carries.
func TestStrongFlowRaisesNoTampering(t *testing.T) {
	kinds := []string{"control-signal", "price-signal", "network-state", "command", "firmware", "key-update", "reading"}
	var b strings.Builder
	b.WriteString("flows:\n")
	for _, k := range kinds {
		for _, pair := range [][2]string{{"he", "meter"}, {"agg", "ev"}, {"he", "gw"}, {"ev", "agg"}} {
			b.WriteString("  - {id: " + k + "-" + pair[0] + "-" + pair[1] + ", from: " + pair[0] + ", to: " + pair[1] +
				", via: [conc], data: [{category: technical, kind: " + k + ", attributable: false}], protection: " + strong + "}\n")
		}
	}
	m := fixture(t, b.String())
	forbidden := []string{"EV.false-control-signal", "EV.false-price-signal", "EV.false-network-state-signal", "EV.replay",
		"NESCOR.AMI-04", "NESCOR.AMI-02", "NESCOR.AMI-03", "NESCOR.ET-01", "NESCOR.DR-01", "EV.malicious-software", "EV.lack-of-accountability"}
	for _, r := range All() {
		for _, h := range r.Check(m) {
			if slices.Contains(forbidden, h.Threat) {
				t.Errorf("%s raised %s on strongly protected flow %s", r.ID(), h.Threat, h.Element)
			}
		}
	}
}

// TestExamplesRaiseOnlyDeclaredThreats runs every rule over the shipped
// examples.
func TestExamplesRaiseOnlyDeclaredThreats(t *testing.T) {
	root := modroot.Dir(t)
	for _, name := range []string{"ev-charging.yaml", "home-metering.yaml"} {
		m, err := model.Load(filepath.Join(root, "examples", name))
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, r := range All() {
			for _, h := range r.Check(m) {
				total++
				if !slices.Contains(r.Threats(), h.Threat) {
					t.Errorf("%s: %s raised undeclared %s", name, r.ID(), h.Threat)
				}
				if m.Flow(h.Element) == nil && m.Component(h.Element) == nil {
					t.Errorf("%s: %s names unknown element %s", name, r.ID(), h.Element)
				}
			}
		}
		if total == 0 {
			t.Errorf("%s: no rule fired", name)
		}
	}
}

package analysis

import (
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/usapp/usapp/analysis/model"
	"github.com/usapp/usapp/analysis/rules"
	"github.com/usapp/usapp/framework"
)

const small = `
model: {name: small}
stakeholders: [{id: home}, {id: util}, {id: aggco}, {id: driver}]
trust_boundaries:
  - {id: h, kind: home}
  - {id: u, kind: utility}
  - {id: c, kind: third-party}
  - {id: v, kind: vehicle}
components:
  - {id: meter, type: meter, owner: util, domain: house, category: physical, layer: component, trust_boundary: h}
  - {id: gw, type: gateway, owner: home, domain: house, category: cyber, layer: network, trust_boundary: h}
  - {id: he, type: headend, owner: util, domain: retail, category: cyber, layer: function, trust_boundary: u}
  - {id: agg, type: ev-aggregator, owner: aggco, domain: der-ev, category: cyber, layer: function, trust_boundary: c}
  - {id: ev, type: ev, owner: driver, domain: der-ev, category: physical, layer: component, trust_boundary: v}
flows:
  - {id: price, from: he, to: gw, data: [{category: technical, kind: price-signal}], protection: {replay_protected: true}}
  - {id: cmd, from: he, to: meter, via: [gw], data: [{category: technical, kind: command}], protection: {authenticated: true, integrity: true, replay_protected: true, encrypted: end-to-end}}
  - {id: cs, from: agg, to: ev, data: [{category: technical, kind: control-signal}], protection: {authenticated: true, integrity: true, encrypted: end-to-end}}
`

func parse(t testing.TB, doc string) *model.Model {
	t.Helper()
	m, err := model.Parse([]byte(doc), "small.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestFindingStatus(t *testing.T) {
	m := parse(t, small+`
controls:
  - {id: B1.keys-at-rest, at: meter}
  - {id: A1.quorum-commands, at: he}
  - {id: C3.command-bounds, at: gw}
  - {id: A1.replay-protection, at: cs}
not_applicable:
  - {finding: key-storage/EV.poor-key-storage/gw, reason: the gateway holds no long-term keys}
`)
	r, err := Analyze(m, defaultCatalogue(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Status{
		"key-storage/EV.poor-key-storage/meter":                    Mitigated,     // at the element
		"key-storage/EV.poor-key-storage/gw":                       NotApplicable, // marked in the model
		"single-party-command/NESCOR.AMI-01/cmd":                   Mitigated,     // at the flow's sender
		"unauthenticated-price-signal/EV.false-price-signal/price": Mitigated,     // at the receiver
		"unauthenticated-price-signal/NESCOR.DR-01/price":          Mitigated,     // C3.command-bounds answers DR-01 too
		"replayable-signal/EV.replay/cs":                           Mitigated,     // at the flow itself
	}
	for id, st := range want {
		f, ok := finding(r, id)
		if !ok {
			t.Errorf("missing %s", id)
			continue
		}
		if f.Status != st {
			t.Errorf("%s: %s, want %s", id, f.Status, st)
		}
		if st == NotApplicable && f.Note != "the gateway holds no long-term keys" {
			t.Errorf("%s: note %q", id, f.Note)
		}
	}
	if f, _ := finding(r, "single-party-command/NESCOR.AMI-01/cmd"); !slices.Equal(f.MitigatedBy, []framework.ControlID{"A1.quorum-commands"}) {
		t.Errorf("mitigated by %v", f.MitigatedBy)
	}
	// Nothing mitigated or not applicable is left for the minimum set.
	for _, f := range r.Findings {
		if f.Status != Open {
			continue
		}
		if f.Threat == "NESCOR.AMI-01" || f.Threat == "EV.replay" {
			t.Errorf("%s open", f.ID)
		}
	}
	// Encrypted, authenticated command raises no tampering threat.
	for _, f := range r.Findings {
		if f.Element == "cmd" && f.Threat != "NESCOR.AMI-01" {
			t.Errorf("strong command flow raised %s", f.ID)
		}
	}
	// Risk after deployed controls is lower for a mitigated threat.
	for _, row := range r.Threats {
		if row.ID == "NESCOR.AMI-01" && row.Risk.After >= row.Risk.Before && row.Risk.Likelihood > 1 {
			t.Errorf("risk not reduced: %+v", row.Risk)
		}
		if row.Risk.Before < 1 || row.Risk.Before > 25 || row.Risk.After > row.Risk.Before {
			t.Errorf("%s: risk out of range %+v", row.ID, row.Risk)
		}
	}
}

func TestAnalyzeErrors(t *testing.T) {
	c := defaultCatalogue(t)
	if _, err := Analyze(nil, c, Options{}); !errors.Is(err, ErrNilInput) {
		t.Errorf("nil model: %v", err)
	}
	m := parse(t, small+`
controls:
  - {id: A1.no-such-control, at: meter}
`)
	if _, err := Analyze(m, c, Options{}); !errors.Is(err, ErrUnknownControl) {
		t.Errorf("unknown control: %v", err)
	}
	if _, err := Analyze(parse(t, small), c, Options{Rules: []rules.Rule{bogusRule{}}}); !errors.Is(err, ErrUnknownThreat) {
		t.Errorf("unknown threat: %v", err)
	}
}

type bogusRule struct{}

func (bogusRule) ID() string        { return "bogus" }
func (bogusRule) Describe() string  { return "raises a threat no catalogue has" }
func (bogusRule) Threats() []string { return []string{"EV.nope"} }
func (bogusRule) Check(m *model.Model) []rules.Hit {
	return []rules.Hit{{Threat: "EV.nope", Element: "meter", Reason: "test"}}
}

func TestRiskScale(t *testing.T) {
	m := parse(t, small)
	c := defaultCatalogue(t)
	th, _ := c.Threat("EV.false-price-signal")
	open := []Finding{{Element: "price", Status: Open}}
	r := risk(m, th, open)
	// price misses authentication, integrity and encryption: 1 + 3 = 4;
	// security impact 4; no mitigations.
	if r.Likelihood != 4 || r.Impact != 4 || r.Before != 16 || r.After != 16 {
		t.Fatalf("open: %+v", r)
	}
	two := []Finding{{Element: "price", Status: Mitigated, MitigatedBy: []framework.ControlID{"A1.signed-messages", "C3.command-bounds"}}}
	if r := risk(m, th, two); r.After != 4 { // 4 / 2 / 2 = 1, × 4
		t.Fatalf("two mitigations: %+v", r)
	}
	na := []Finding{{Element: "price", Status: NotApplicable}}
	if r := risk(m, th, na); r.Likelihood != 1 {
		t.Fatalf("not applicable: %+v", r)
	}
}

// TestRiskCountsTrustInOnlookers: the same plaintext reading, relayed by a
// concentrator whose owner the household trusts 1, 0.5 or not at all,
// scores a privacy threat's likelihood 0, ½ and 1 above the protections'
// weakness; end-to-end encryption leaves no onlooker to distrust; a
// security threat ignores trust.
func TestRiskCountsTrustInOnlookers(t *testing.T) {
	c := defaultCatalogue(t)
	dd, _ := c.Threat("LINDDUN.DD")
	sec, _ := c.Threat("EV.false-price-signal")
	for _, tc := range []struct {
		trust      string
		encryption string
		privacy    float64
	}{
		{"1", "none", 4}, // 1 + 3 missing protections + 0
		{"0.5", "none", 4.5},
		{"0", "none", 5},
		{"0", "end-to-end", 3}, // 1 + 2 missing (authentication, integrity)
	} {
		m := parse(t, `
model: {name: trust}
stakeholders: [{id: home, trusts: {net: `+tc.trust+`}}, {id: util, trusts: {net: 1}}, {id: net}]
trust_boundaries:
  - {id: h, kind: home}
  - {id: u, kind: utility}
  - {id: n, kind: network}
components:
  - {id: meter, type: meter, owner: util, domain: house, category: physical, layer: component, trust_boundary: h}
  - {id: gw, type: gateway, owner: home, domain: house, category: cyber, layer: network, trust_boundary: h}
  - {id: conc, type: concentrator, owner: net, domain: distribution, category: cyber, layer: network, trust_boundary: n}
  - {id: he, type: headend, owner: util, domain: retail, category: cyber, layer: function, trust_boundary: u}
flows:
  - {id: reads, from: meter, to: he, via: [conc], data: [{category: customer, kind: reading, attributable: true}], protection: {encrypted: `+tc.encryption+`}}
`)
		open := []Finding{{Element: "reads", Status: Open}}
		if r := risk(m, dd, open); r.Likelihood != tc.privacy {
			t.Errorf("trust %s, %s: privacy likelihood %v, want %v", tc.trust, tc.encryption, r.Likelihood, tc.privacy)
		}
		want := 4.0 // weakness 3 without encryption, 2 with
		if tc.encryption != "none" {
			want = 3
		}
		if r := risk(m, sec, open); r.Likelihood != want {
			t.Errorf("trust %s, %s: security likelihood %v, want %v", tc.trust, tc.encryption, r.Likelihood, want)
		}
	}
}

func TestCoverageGrid(t *testing.T) {
	m := parse(t, small+`
controls:
  - {id: B1.keys-at-rest, at: meter}
`)
	r, err := Analyze(m, defaultCatalogue(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Places: house/physical, house/cyber, retail/cyber, der-ev/cyber,
	// der-ev/physical = 5; × 7 requirements × 5 layers.
	if len(r.Coverage) != 5*7*5 {
		t.Fatalf("%d cells", len(r.Coverage))
	}
	covered := 0
	for _, c := range r.Coverage {
		if !c.Covered {
			continue
		}
		covered++
		// B1.keys-at-rest: confidentiality+authentication, component layer, at a house/physical meter.
		ok := c.Domain == framework.House && c.Category == framework.Physical && c.Layer == framework.Component &&
			(c.Requirement == framework.Confidentiality || c.Requirement == framework.Authentication)
		if !ok || !slices.Equal(c.Controls, []framework.ControlID{"B1.keys-at-rest"}) {
			t.Errorf("unexpected covered cell %+v", c)
		}
	}
	if covered != 2 || len(r.UncoveredCells()) != len(r.Coverage)-2 {
		t.Fatalf("covered %d, uncovered %d", covered, len(r.UncoveredCells()))
	}
}

func TestCascade(t *testing.T) {
	// he commands meter and prices gw; meter reports to agg; agg commands ev.
	m := parse(t, small+`
  - {id: up, from: meter, to: agg, data: [{category: technical, kind: reading}], protection: {authenticated: true, integrity: true}}
`)
	r, err := Analyze(m, defaultCatalogue(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]CascadeEntry{}
	for _, e := range r.Cascade {
		byID[e.Component] = e
	}
	he := byID["he"]
	if !slices.Equal(he.Reaches, []string{"agg", "ev", "gw", "meter"}) {
		t.Fatalf("he reaches %v", he.Reaches)
	}
	// meter (command, d1) 2 + gw (price, d1) 1 + agg (reading, d2) 1/2 + ev (control, d3) 2/3.
	if want := 2 + 1 + 0.5 + 2.0/3; he.Score < want-1e-9 || he.Score > want+1e-9 {
		t.Fatalf("he score %v, want %v", he.Score, want)
	}
	if r.Cascade[0].Component != "he" {
		t.Fatalf("top is %s", r.Cascade[0].Component)
	}
	if !slices.Contains(he.CutBy, "A1.quorum-commands") || slices.Contains(he.CutBy, "A1.enrolment") || slices.Contains(he.CutBy, "A1.signed-messages") {
		t.Fatalf("he cut by %v", he.CutBy)
	}
	// The gateway relays cmd, which is authenticated with integrity: it
	// cannot forge, so no flow carries its reach. It shares the home's trust
	// boundary with the meter, which a captured gateway exposes laterally
	// (weight 0.5, one hop) without being obeyed.
	if gw := byID["gw"]; !slices.Equal(gw.Reaches, []string{"meter"}) || gw.Score != trustWeight {
		t.Fatalf("gateway should expose only its boundary mate: %+v", gw)
	}
	if _, ok := byID["ev"]; ok {
		t.Fatal("ev sends nothing")
	}
}

func TestAnalyzeRuleSubsetAndDeterminism(t *testing.T) {
	m, c := loadExample(t, "ev-charging.yaml"), defaultCatalogue(t)
	only, _ := rules.ByID("replayable-signal")
	r, err := Analyze(m, c, Options{Rules: []rules.Rule{only}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) != 4 {
		t.Fatalf("%d findings from replayable-signal alone, want 4", len(r.Findings))
	}
	for _, f := range r.Findings {
		if f.Rule != "replayable-signal" {
			t.Fatalf("foreign finding %s", f.ID)
		}
	}
	// Concurrent analyses of one model agree with each other.
	done := make(chan *Report, 4)
	for range 4 {
		go func() {
			r, err := Analyze(m, c, Options{})
			if err != nil {
				t.Error(err)
			}
			done <- r
		}()
	}
	first := <-done
	for range 3 {
		if !reflect.DeepEqual(first, <-done) {
			t.Fatal("concurrent analyses differ")
		}
	}
}

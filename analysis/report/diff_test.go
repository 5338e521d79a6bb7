package report

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/usapp/usapp/analysis"
	"github.com/usapp/usapp/framework"
)

func TestDiff(t *testing.T) {
	old, new := testReport(), testReport()
	// Added and removed findings and threats.
	new.Findings = slices.Delete(new.Findings, 2, 3) // physical/X.tamper/meter
	new.Threats = slices.Delete(new.Threats, 2, 3)   // X.tamper
	new.Findings = append(new.Findings, analysis.Finding{ID: "replay/EV.replay/price", Rule: "replay", Threat: "EV.replay", Element: "price", Status: analysis.Open})
	new.Threats = append(new.Threats, analysis.ThreatRow{ID: "EV.replay", Classes: []framework.Class{framework.Communications}, Findings: []string{"replay/EV.replay/price"}})
	// A finding gets mitigated: status and controls change, and the threat's
	// residual risk falls.
	new.Findings[0].Status, new.Findings[0].MitigatedBy = analysis.Mitigated, []framework.ControlID{"A1.signed-messages"}
	new.Threats[1].Risk.After = 4
	// A threat gains a class (same set in another order is no change).
	new.Threats[0].Classes = []framework.Class{framework.Computing, framework.Communications}
	old.Threats[1].Classes = []framework.Class{framework.Control, framework.Communications}
	new.MinimumSet.Controls = []framework.ControlID{"A1.signed-messages", "B1.keys-at-rest"}
	new.MinimumSet.TotalCost = 7

	d := Diff(old, new)
	type fc struct {
		ID string
		C  Change
	}
	var findings []fc
	for _, f := range d.Findings {
		findings = append(findings, fc{f.ID, f.Change})
	}
	wantF := []fc{{"physical/X.tamper/meter", Removed}, {"replay/EV.replay/price", Added}, {"spoofing/EV.false-price-signal/price", Changed}}
	if !reflect.DeepEqual(findings, wantF) {
		t.Errorf("findings %v, want %v", findings, wantF)
	}
	var threats []fc
	for _, c := range d.Threats {
		threats = append(threats, fc{c.ID, c.Change})
	}
	wantT := []fc{{"EV.false-control-signal", Changed}, {"EV.replay", Added}, {"X.tamper", Removed}}
	if !reflect.DeepEqual(threats, wantT) {
		t.Errorf("threats %v, want %v", threats, wantT)
	}
	if len(d.Risks) != 1 || d.Risks[0].Threat != "EV.false-price-signal" || d.Risks[0].Old.After != 16 || d.Risks[0].New.After != 4 {
		t.Errorf("risks %+v", d.Risks)
	}
	wantM := []ControlChange{{"B1.keys-at-rest", Added}, {"C9.nowhere", Removed}}
	if !reflect.DeepEqual(d.MinimumSet, wantM) || d.OldCost != 3 || d.NewCost != 7 {
		t.Errorf("minimum set %v cost %d→%d", d.MinimumSet, d.OldCost, d.NewCost)
	}
	// The delta holds copies: editing the inputs later does not change it.
	old.Findings[2].Status = analysis.Open
	if d.Findings[0].Old.Status != analysis.NotApplicable {
		t.Error("delta aliases the old report")
	}

	var md bytes.Buffer
	if err := DeltaMarkdown(&md, &d); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"- changed `spoofing/EV.false-price-signal/price`: status open → mitigated; mitigated by [] → [A1.signed-messages]",
		"- removed `physical/X.tamper/meter` (was not-applicable)", "- added `replay/EV.replay/price` (open)",
		"- changed `EV.false-control-signal`: classes [communications] → [computing communications]",
		"- `EV.false-price-signal`: before 16 → 16, after 16 → 4", "Cost 3 → 7.", "- added `B1.keys-at-rest`",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("delta markdown lacks %q:\n%s", want, md.String())
		}
	}
	var js bytes.Buffer
	if err := DeltaJSON(&js, &d); err != nil {
		t.Fatal(err)
	}
	var back Delta
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || !reflect.DeepEqual(back, d) {
		t.Errorf("delta JSON round trip: %v\n got %+v\nwant %+v", err, back, d)
	}
}

func TestDiffIdentical(t *testing.T) {
	d := Diff(testReport(), testReport())
	if !d.Empty() {
		t.Errorf("identical reports differ: %+v", d)
	}
	var md bytes.Buffer
	if err := DeltaMarkdown(&md, &d); err != nil || !strings.Contains(md.String(), "No changes.") {
		t.Errorf("%v\n%s", err, md.String())
	}
}

func TestCompareDeployment(t *testing.T) {
	m := testModel()
	m.Controls = append(m.Controls, m.Controls[0]) // the same control at a second place counts once
	d := CompareDeployment(m, "gateway", []framework.Active{{ID: "A1.signed-messages"}, {ID: "B2.cyber-event-ids"}, {ID: "B2.cyber-event-ids"}})
	want := Drift{Role: "gateway", Missing: []framework.ControlID{"A1.enrolment"}, Extra: []framework.ControlID{"B2.cyber-event-ids"}}
	if d.Scope == "" || !reflect.DeepEqual(Drift{Role: d.Role, Missing: d.Missing, Extra: d.Extra}, want) {
		t.Errorf("got %+v, want %+v", d, want)
	}
	// Each role is held to its part of the model: the head-end to the
	// readings that reach it (signed), not to the meter's enrolment; the CA
	// to key management wherever placed; an unknown role to everything.
	for role, missing := range map[string][]framework.ControlID{
		"headend": {"A1.signed-messages"},
		"ca":      {"A1.enrolment", "A1.signed-messages"},
		"billing": {"A1.enrolment", "A1.signed-messages"},
	} {
		if got := CompareDeployment(m, role, nil); !slices.Equal(got.Missing, missing) || got.Scope == "" {
			t.Errorf("role %s: missing %v (scope %q), want %v", role, got.Missing, got.Scope, missing)
		}
	}
	clean := CompareDeployment(m, "gw", []framework.Active{{ID: "A1.enrolment"}, {ID: "A1.signed-messages"}})
	if !clean.Clean() {
		t.Errorf("clean deployment reported %+v", clean)
	}
	var b bytes.Buffer
	if err := DriftMarkdown(&b, &d); err != nil || !strings.Contains(b.String(), "not running: `A1.enrolment`") {
		t.Errorf("%v\n%s", err, b.String())
	}
}

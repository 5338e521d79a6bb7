package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/usapp/usapp/analysis"
	"github.com/usapp/usapp/analysis/catalogue"
	"github.com/usapp/usapp/analysis/model"
	"github.com/usapp/usapp/framework"
)

// testModel is a small home-to-supplier system: a meter and gateway inside
// the home boundary, a head-end at the supplier; one flow is weak.
func testModel() *model.Model {
	m := &model.Model{
		Meta: model.Meta{Name: "tiny", Description: "a meter, a gateway & a <head-end>"},
		TrustBoundaries: []model.TrustBoundary{
			{ID: "home", Name: "The home", Kind: "home"},
			{ID: "dc", Name: "Supplier DC", Kind: "utility"},
		},
		Components: []model.Component{
			{ID: "meter", Name: "Smart meter", Type: model.Meter, Domain: framework.House, Category: framework.Physical, Layer: framework.Component, TrustBoundary: "home"},
			{ID: "gw", Name: "Gateway", Type: model.Gateway, Domain: framework.House, Category: framework.Cyber, Layer: framework.Network, TrustBoundary: "home"},
			{ID: "evse", Name: "Charger", Domain: framework.DEREV, Category: framework.Physical, Layer: framework.Component},
			{ID: "headend", Name: "Head-end", Type: model.HeadEnd, Domain: framework.Retail, Category: framework.Cyber, Layer: framework.Function, TrustBoundary: "dc"},
		},
		Flows: []model.Flow{
			{ID: "readings", From: "meter", To: "headend", Via: []string{"gw"},
				Protection: model.Protection{Authenticated: true, Encrypted: model.EndToEnd, Integrity: true}},
			{ID: "price", From: "headend", To: "evse", Protection: model.Protection{Encrypted: model.Hop}},
		},
		Controls: []model.Control{
			{ID: "A1.enrolment", At: "meter"},
			{ID: "A1.signed-messages", At: "readings"},
		},
	}
	m.Reindex()
	return m
}

// testReport is a hand-built result for testModel, independent of the
// analysis engine.
func testReport() *analysis.Report {
	return &analysis.Report{
		Version: 1,
		Model:   "tiny",
		Findings: []analysis.Finding{
			{ID: "spoofing/EV.false-price-signal/price", Rule: "spoofing", Threat: "EV.false-price-signal", Element: "price",
				Reason: "price signal is not authenticated | at all", Status: analysis.Open},
			{ID: "spoofing/EV.false-control-signal/readings", Rule: "spoofing", Threat: "EV.false-control-signal", Element: "readings",
				Reason: "control data", Status: analysis.Mitigated, MitigatedBy: []framework.ControlID{"A1.signed-messages"}},
			{ID: "physical/X.tamper/meter", Rule: "physical", Threat: "X.tamper", Element: "meter",
				Reason: "meter is reachable", Status: analysis.NotApplicable, Note: "sealed cabinet"},
		},
		Threats: []analysis.ThreatRow{
			{ID: "EV.false-control-signal", Name: "False control signal", Classes: []framework.Class{framework.Communications},
				Controls: []framework.ControlID{"A1.signed-messages"}, Risk: analysis.Risk{Likelihood: 4, Impact: 5, Before: 20, After: 4},
				Findings: []string{"spoofing/EV.false-control-signal/readings"}},
			{ID: "EV.false-price-signal", Name: "False price signal", Classes: []framework.Class{framework.Communications, framework.Control},
				Controls: []framework.ControlID{"A1.signed-messages"}, Risk: analysis.Risk{Likelihood: 4, Impact: 4, Before: 16, After: 16},
				Findings: []string{"spoofing/EV.false-price-signal/price"}},
			{ID: "X.tamper", Name: "Tampering", Risk: analysis.Risk{Likelihood: 1, Impact: 3, Before: 3, After: 3},
				Findings: []string{"physical/X.tamper/meter"}},
		},
		Coverage: []analysis.Coverage{
			{Requirement: framework.Integrity, Domain: framework.House, Category: framework.Cyber, Layer: framework.Information, Covered: true, Controls: []framework.ControlID{"A1.signed-messages"}},
			{Requirement: framework.Authentication, Domain: framework.DEREV, Category: framework.Cyber, Layer: framework.Information},
		},
		Overlaps:   []analysis.Overlap{{Threat: "EV.false-control-signal", Service: "authenticate-origin", Controls: []framework.ControlID{"A1.enrolment", "A1.signed-messages"}}},
		MinimumSet: analysis.MinimumSet{Controls: []framework.ControlID{"A1.signed-messages", "C9.nowhere"}, TotalCost: 3, Optimal: true, Greedy: 4},
		Uncovered:  []string{"X.tamper"},
		Cascade:    []analysis.CascadeEntry{{Component: "headend", Reaches: []string{"evse"}, Score: 2.5, CutBy: []framework.ControlID{"A1.signed-messages"}}},
	}
}

func defaultCatalogue(t testing.TB) *catalogue.Catalogue {
	t.Helper()
	c, err := catalogue.Default()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMarkdownSections(t *testing.T) {
	var b bytes.Buffer
	if err := Markdown(&b, testReport(), testModel(), defaultCatalogue(t)); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"# USaPP analysis: tiny", "## Summary", "## Threats × classes", "## Findings", "### Open (1)",
		"### Mitigated (1)", "### Not applicable (1)", "## Minimum set", "## Uncovered threats",
		"## Coverage", "## Overlaps", "## Cascade ranking",
		"- Findings: 3 (open 1, mitigated 1, not applicable 1)",
		"Highest residual risk of an open threat: 16 (`EV.false-price-signal`, high)",
		"| `EV.false-price-signal` | False price signal | ✓ |  | ✓ | 16 | 16 | 1 |",
		"rule `spoofing`. price signal is not authenticated | at all", // free text outside tables stays as written
		"Mitigated by `A1.signed-messages`.", "Not applicable: sealed cabinet",
		"| `A1.signed-messages` | Signed messages end to end | communications | information | 3 |",
		"Total cost 3 (optimal); greedy cost 4",
		"- `X.tamper` Tampering",
		"1 of 2 cells are gaps",
		"### house, cyber", "| integrity | · | · | ✓ | · | · |", // the covered cell, at the information layer
		"### der-ev, cyber", "| authentication | · | · | · | · | · |",
		"- authenticate-origin against `EV.false-control-signal`: `A1.enrolment`, `A1.signed-messages`",
		"| 1 | `headend` | 2.5 | evse | `A1.signed-messages` |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	// Places no component occupies get no matrix.
	if strings.Contains(out, "### retail") || strings.Contains(out, "### house, physical") {
		t.Error("a matrix for a place without components")
	}
}

func TestMarkdownEscapesTableCells(t *testing.T) {
	rep := testReport()
	rep.Threats[0].Name = "a | b\nc"
	var b bytes.Buffer
	if err := Markdown(&b, rep, nil, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `| a \| b c |`) {
		t.Errorf("cell not escaped:\n%s", b.String())
	}
}

func TestNilReport(t *testing.T) {
	for name, fn := range map[string]func() error{
		"md":   func() error { return Markdown(io.Discard, nil, nil, nil) },
		"json": func() error { return JSON(io.Discard, nil) },
		"html": func() error { return HTML(io.Discard, nil, nil, nil) },
	} {
		if err := fn(); !errors.Is(err, ErrNoReport) {
			t.Errorf("%s: err = %v, want ErrNoReport", name, err)
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	rep := testReport()
	var b bytes.Buffer
	if err := JSON(&b, rep); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	var back analysis.Report
	dec := json.NewDecoder(&b)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rep, &back) {
		t.Errorf("round trip differs:\n got %+v\nwant %+v", back, *rep)
	}
	if !strings.Contains(text, "\n  \"version\": 1,") {
		t.Error("JSON is not indented")
	}
}

func TestSeverity(t *testing.T) {
	for _, c := range []struct {
		risk float64
		want Severity
	}{{0, None}, {0.99, None}, {1, Low}, {7.99, Low}, {8, Medium}, {14.9, Medium}, {15, High}, {25, High}} {
		if got := SeverityOf(c.risk); got != c.want {
			t.Errorf("SeverityOf(%g) = %v, want %v", c.risk, got, c.want)
		}
	}
	for _, s := range []Severity{Low, Medium, High} {
		if got, err := ParseSeverity(s.String()); err != nil || got != s {
			t.Errorf("ParseSeverity(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := ParseSeverity("urgent"); !errors.Is(err, ErrSeverity) {
		t.Errorf("ParseSeverity(urgent) err = %v", err)
	}
}

func TestMaxOpenResidual(t *testing.T) {
	rep := testReport()
	if id, r := MaxOpenResidual(rep); id != "EV.false-price-signal" || r != 16 {
		t.Errorf("got %s %g", id, r)
	}
	rep.Findings[0].Status = analysis.Mitigated
	if id, r := MaxOpenResidual(rep); id != "" || r != 0 {
		t.Errorf("nothing open: got %s %g", id, r)
	}
}

package report

import (
	"bytes"
	"encoding/xml"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/usapp/usapp/analysis"
	"github.com/usapp/usapp/framework"
)

// page is what checkPage learnt walking a rendered page.
type pageFacts struct {
	svgIDs   []string
	elements map[string]int
	texts    string
}

// checkPage parses html as strict XML (the page promises XHTML-compatible
// markup) and fails on anything that would fetch or run something.
func checkPage(t *testing.T, html []byte) pageFacts {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(html))
	dec.Strict = true
	facts := pageFacts{elements: map[string]int{}}
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("page is not well-formed: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			name := strings.ToLower(el.Name.Local)
			facts.elements[name]++
			if name == "script" || name == "link" || name == "iframe" || name == "object" || name == "img" {
				t.Errorf("page holds <%s>", name)
			}
			for _, a := range el.Attr {
				an, v := strings.ToLower(a.Name.Local), strings.ToLower(strings.TrimSpace(a.Value))
				if (an == "src" || an == "href") && (strings.Contains(v, "//") || strings.HasPrefix(v, "javascript:") || strings.HasPrefix(v, "data:")) {
					t.Errorf("<%s %s=%q> reaches outside the page", name, an, a.Value)
				}
				if strings.HasPrefix(an, "on") {
					t.Errorf("<%s> has event handler %s", name, an)
				}
				if name == "svg" && an == "id" {
					facts.svgIDs = append(facts.svgIDs, a.Value)
				}
			}
		case xml.CharData:
			text.Write(el)
		}
	}
	facts.texts = text.String()
	return facts
}

func TestHTMLSelfContained(t *testing.T) {
	var b bytes.Buffer
	if err := HTML(&b, testReport(), testModel(), defaultCatalogue(t)); err != nil {
		t.Fatal(err)
	}
	facts := checkPage(t, b.Bytes())
	for _, id := range []string{"grid", "flows", "threat-class"} {
		if !slices.Contains(facts.svgIDs, id) {
			t.Errorf("no <svg id=%q>; have %v", id, facts.svgIDs)
		}
	}
	for _, want := range []string{
		"a meter, a gateway & a <head-end>", // the description, escaped and decoded back
		"Minimum set", "Cascade ranking", "Coverage gaps", "sealed cabinet",
	} {
		if !strings.Contains(facts.texts, want) {
			t.Errorf("page text lacks %q", want)
		}
	}
	if strings.Contains(b.String(), "http://") && !onlySVGNamespace(b.String()) {
		t.Error("page names an http URL other than the SVG namespace")
	}
}

func onlySVGNamespace(s string) bool {
	return strings.Count(s, "http://") == strings.Count(s, `xmlns="http://www.w3.org/2000/svg"`)
}

// A model is user input: names that look like markup must come out as text.
func TestHTMLEscapesHostileNames(t *testing.T) {
	m := testModel()
	m.Components[0].Name = `</text><script>alert(1)</script>`
	m.TrustBoundaries[0].Name = `"><a href="https://evil.example/">x</a>`
	m.Flows[1].ID = `p&q<r>`
	m.Reindex()
	rep := testReport()
	rep.Model = `<b>x</b>`
	rep.Threats[0].Name = `<img src="http://evil.example/x.png"/>`
	var b bytes.Buffer
	if err := HTML(&b, rep, m, nil); err != nil {
		t.Fatal(err)
	}
	facts := checkPage(t, b.Bytes())
	if facts.elements["a"] != 0 || facts.elements["b"] != 0 {
		t.Errorf("injected elements survived: %v", facts.elements)
	}
	if !strings.Contains(facts.texts, "<script>alert(1)</script>") {
		t.Error("hostile name not shown as text")
	}
}

func TestHTMLWithoutModelOrCatalogue(t *testing.T) {
	var b bytes.Buffer
	if err := HTML(&b, testReport(), nil, nil); err != nil {
		t.Fatal(err)
	}
	facts := checkPage(t, b.Bytes())
	if len(facts.svgIDs) != 3 {
		t.Errorf("svg ids %v", facts.svgIDs)
	}
}

func TestGridPlacement(t *testing.T) {
	cells, unplaced := Grid(testReport(), testModel(), defaultCatalogue(t))
	has := func(d framework.Domain, l framework.Layer, id framework.ControlID, as Placement) bool {
		return slices.Contains(cells[Cell{d, l}], Placed{id, as})
	}
	// A1.enrolment is deployed at the meter (house); the catalogue puts it in
	// the information and component layers.
	for _, l := range []framework.Layer{framework.Information, framework.Component} {
		if !has(framework.House, l, "A1.enrolment", Deployed) {
			t.Errorf("A1.enrolment missing from house/%s", l)
		}
	}
	if has(framework.House, framework.Business, "A1.enrolment", Deployed) {
		t.Error("A1.enrolment placed in a layer the catalogue does not give it")
	}
	// A1.signed-messages is deployed on the readings flow (meter in house →
	// head-end in retail) and in the minimum set: both ends' domains.
	for _, d := range []framework.Domain{framework.House, framework.Retail} {
		if !has(d, framework.Information, "A1.signed-messages", Both) {
			t.Errorf("A1.signed-messages missing from %s/information as both", d)
		}
	}
	if has(framework.DEREV, framework.Information, "A1.signed-messages", Both) {
		t.Error("signed messages placed in a domain it is not deployed in")
	}
	if !slices.Equal(unplaced, []framework.ControlID{"C9.nowhere"}) {
		t.Errorf("unplaced = %v", unplaced)
	}
}

func TestGridPlacesProposedWhereThreatsAre(t *testing.T) {
	rep := testReport()
	m := testModel()
	m.Controls = nil // nothing deployed: the minimum set must come from findings
	cells, _ := Grid(rep, m, defaultCatalogue(t))
	// A1.signed-messages mitigates both EV threats, found on flows readings
	// (house → retail) and price (retail → der-ev).
	for _, d := range []framework.Domain{framework.House, framework.DEREV, framework.Retail} {
		if !slices.Contains(cells[Cell{d, framework.Information}], Placed{"A1.signed-messages", Proposed}) {
			t.Errorf("proposed control missing from %s/information", d)
		}
	}
	if len(cells[Cell{framework.Distribution, framework.Information}]) != 0 {
		t.Error("control placed in a domain with no finding")
	}
}

func TestFlowLayoutBoundariesDoNotOverlap(t *testing.T) {
	m := testModel()
	// A second home-boundary component in another domain widens the box
	// across columns; the unbounded charger must then sit below it.
	m.Components = append(m.Components, m.Components[2])
	m.Components[4].ID, m.Components[4].TrustBoundary = "battery", "home"
	m.Reindex()
	pos, box := layoutFlows(m)
	if len(pos) != len(m.Components) {
		t.Fatalf("placed %d of %d", len(pos), len(m.Components))
	}
	seen := map[slot]string{}
	for id, p := range pos {
		if other, dup := seen[p]; dup {
			t.Errorf("%s and %s share %v", id, other, p)
		}
		seen[p] = id
	}
	inside := func(p slot, r [2]slot) bool {
		return p.col >= r[0].col && p.col <= r[1].col && p.row >= r[0].row && p.row <= r[1].row
	}
	for _, cp := range m.Components {
		for b, r := range box {
			if inside(pos[cp.ID], r) != (cp.TrustBoundary == b) {
				t.Errorf("%s at %v vs boundary %s box %v", cp.ID, pos[cp.ID], b, r)
			}
		}
	}
}

func TestWeak(t *testing.T) {
	m := testModel()
	if Weak(m.Flows[0]) || !Weak(m.Flows[1]) {
		t.Error("readings is strong, price is weak")
	}
	var b bytes.Buffer
	if err := HTML(&b, &analysis.Report{Model: "tiny"}, m, nil); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), `class="flow weak"`); n != 2 { // price, and the legend
		t.Errorf("%d weak paths, want 2", n)
	}
}

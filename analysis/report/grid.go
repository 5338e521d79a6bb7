package report

import (
	"slices"
	"strings"

	"github.com/usapp/usapp/analysis"
	"github.com/usapp/usapp/analysis/catalogue"
	"github.com/usapp/usapp/analysis/model"
	"github.com/usapp/usapp/framework"
)

// Placement says why a control sits in a grid cell.
type Placement string

// The placements, in drawing order.
const (
	Deployed Placement = "deployed" // in model.controls
	Proposed Placement = "proposed" // in the minimum set, not deployed
	Both     Placement = "both"     // deployed and in the minimum set
)

// Cell is one (domain, layer) cell of the method's grid.
type Cell struct {
	Domain framework.Domain
	Layer  framework.Layer
}

// Placed is a control in a cell.
type Placed struct {
	Control framework.ControlID
	As      Placement
}

// Grid places the model's deployed controls and the minimum set's controls
// in the domains × layers grid (USAPP.md section 4, steps 2 and 4).
//
// A control's layers come from the catalogue (falling back to the layer of
// the component it is at when the catalogue does not know it). Its domains
// are those of the component it is at; a control at a flow counts in the
// domains of both ends. A minimum-set control that is not deployed is placed
// in the domains of the components its threats were found on (a finding on
// a flow counts for both ends). Controls that cannot be placed are returned
// in unplaced, sorted. Each cell's list is sorted by control ID.
func Grid(rep *analysis.Report, m *model.Model, c *catalogue.Catalogue) (cells map[Cell][]Placed, unplaced []framework.ControlID) {
	cells = map[Cell][]Placed{}
	inMin := map[framework.ControlID]bool{}
	for _, id := range rep.MinimumSet.Controls {
		inMin[id] = true
	}
	seen := map[framework.ControlID]bool{}
	add := func(id framework.ControlID, as Placement, doms []framework.Domain, layers []framework.Layer) {
		for _, d := range doms {
			for _, l := range layers {
				k := Cell{d, l}
				if !slices.ContainsFunc(cells[k], func(p Placed) bool { return p.Control == id }) {
					cells[k] = append(cells[k], Placed{id, as})
				}
			}
		}
	}
	if m != nil {
		for _, ctl := range m.Controls {
			as := Deployed
			if inMin[ctl.ID] {
				as = Both
			}
			doms, compLayers := elementPlace(m, ctl.At)
			layers := controlLayers(c, ctl.ID, compLayers)
			if len(doms) == 0 || len(layers) == 0 {
				continue
			}
			seen[ctl.ID] = true
			add(ctl.ID, as, doms, layers)
		}
	}
	for _, id := range rep.MinimumSet.Controls {
		if seen[id] {
			continue
		}
		doms, compLayers := threatPlace(rep, m, c, id)
		layers := controlLayers(c, id, compLayers)
		if len(doms) == 0 || len(layers) == 0 {
			unplaced = append(unplaced, id)
			continue
		}
		add(id, Proposed, doms, layers)
	}
	for k := range cells {
		slices.SortFunc(cells[k], func(a, b Placed) int { return cmpID(a.Control, b.Control) })
	}
	slices.Sort(unplaced)
	return cells, slices.Compact(unplaced)
}

func cmpID(a, b framework.ControlID) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func controlLayers(c *catalogue.Catalogue, id framework.ControlID, fallback []framework.Layer) []framework.Layer {
	if c != nil {
		if ctl, ok := c.Control(id); ok && len(ctl.Layers) > 0 {
			return ctl.Layers
		}
	}
	return fallback
}

// elementPlace returns the domains and layers of a component, or of both
// ends of a flow.
func elementPlace(m *model.Model, at string) ([]framework.Domain, []framework.Layer) {
	if m == nil {
		return nil, nil
	}
	var comps []*model.Component
	if cp := m.Component(at); cp != nil {
		comps = append(comps, cp)
	} else if f := m.Flow(at); f != nil {
		for _, end := range []string{f.From, f.To} {
			if cp := m.Component(end); cp != nil {
				comps = append(comps, cp)
			}
		}
	}
	var doms []framework.Domain
	var layers []framework.Layer
	for _, cp := range comps {
		doms = appendNew(doms, cp.Domain)
		layers = appendNew(layers, cp.Layer)
	}
	return doms, layers
}

// threatPlace places a proposed control where the threats it mitigates were
// found.
func threatPlace(rep *analysis.Report, m *model.Model, c *catalogue.Catalogue, id framework.ControlID) ([]framework.Domain, []framework.Layer) {
	threats := map[string]bool{}
	if c != nil {
		if ctl, ok := c.Control(id); ok {
			for _, t := range ctl.Mitigates {
				threats[t] = true
			}
		}
	}
	for _, t := range rep.Threats {
		if slices.Contains(t.Controls, id) {
			threats[t.ID] = true
		}
	}
	var doms []framework.Domain
	var layers []framework.Layer
	for _, f := range rep.Findings {
		if !threats[f.Threat] {
			continue
		}
		d, l := elementPlace(m, f.Element)
		for _, x := range d {
			doms = appendNew(doms, x)
		}
		for _, x := range l {
			layers = appendNew(layers, x)
		}
	}
	return inOrder(doms, framework.Domains), inOrder(layers, framework.Layers)
}

func appendNew[T comparable](list []T, v T) []T {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

// inOrder sorts a subset of a vocabulary into the vocabulary's order.
func inOrder[T comparable](subset, order []T) []T {
	var out []T
	for _, v := range order {
		if slices.Contains(subset, v) {
			out = append(out, v)
		}
	}
	return out
}

// Grid figure geometry.
const (
	gridLabelW = 110.0
	gridColW   = 230.0
	gridHeadH  = 30.0
	gridItemH  = 20.0
	gridPad    = 8.0
)

// gridSVG draws figure (a): four domain columns, five layer rows.
func gridSVG(rep *analysis.Report, m *model.Model, c *catalogue.Catalogue) string {
	cells, unplaced := Grid(rep, m, c)
	rowH := make([]float64, len(framework.Layers))
	total := gridHeadH
	for i, l := range framework.Layers {
		most := 1
		for _, d := range framework.Domains {
			most = max(most, len(cells[Cell{d, l}]))
		}
		rowH[i] = float64(most)*gridItemH + 2*gridPad
		total += rowH[i]
	}
	legendH := 40.0
	width := gridLabelW + float64(len(framework.Domains))*gridColW + 10
	s := newSVG("grid", "Controls in the domains × layers grid", width, total+legendH)
	for j, d := range framework.Domains {
		x := gridLabelW + float64(j)*gridColW
		s.rect(x, 0, gridColW, gridHeadH, `class="head"`)
		s.text(x+gridColW/2, 20, `text-anchor="middle" font-weight="bold"`, string(d))
	}
	y := gridHeadH
	for i, l := range framework.Layers {
		s.rect(0, y, gridLabelW, rowH[i], `class="head"`)
		s.text(8, y+rowH[i]/2+4, `font-weight="bold"`, string(l))
		for j, d := range framework.Domains {
			x := gridLabelW + float64(j)*gridColW
			s.rect(x, y, gridColW, rowH[i], `class="cell"`)
			for k, p := range cells[Cell{d, l}] {
				gridItem(s, c, p, x+gridPad, y+gridPad+float64(k)*gridItemH)
			}
		}
		y += rowH[i]
	}
	gridLegend(s, y+14, unplaced)
	return s.String()
}

func gridItem(s *svg, c *catalogue.Catalogue, p Placed, x, y float64) {
	tip := string(p.Control) + " (" + string(p.As) + ")"
	if c != nil {
		if ctl, ok := c.Control(p.Control); ok {
			tip = string(p.Control) + ": " + ctl.Name + " (" + string(p.As) + ")"
		}
	}
	s.tip(tip)
	s.rect(x, y, gridColW-2*gridPad, gridItemH-4, `rx="3" class="`+string(p.As)+`"`)
	s.text(x+5, y+12, `font-size="11"`, clip(string(p.Control), 32))
	s.end()
}

func gridLegend(s *svg, y float64, unplaced []framework.ControlID) {
	x := 8.0
	for _, p := range []Placement{Deployed, Proposed, Both} {
		s.rect(x, y-10, 14, 12, `rx="3" class="`+string(p)+`"`)
		label := map[Placement]string{Deployed: "deployed", Proposed: "minimum set (to deploy)", Both: "deployed, in minimum set"}[p]
		s.text(x+20, y, ``, label)
		x += 210
	}
	if len(unplaced) > 0 {
		names := make([]string, len(unplaced))
		for i, id := range unplaced {
			names[i] = string(id)
		}
		s.text(8, y+18, `font-size="11"`, "not placed (no domain known): "+clip(strings.Join(names, ", "), 120))
	}
}

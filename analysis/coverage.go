package analysis

import (
	"slices"

	"github.com/usapp/usapp/analysis/catalogue"
	"github.com/usapp/usapp/analysis/model"
	"github.com/usapp/usapp/framework"
)

type place struct {
	domain   framework.Domain
	category framework.Category
}

// coverage fills the grid of (requirement, domain, category, layer). The
// grid spans every requirement and layer at each (domain, category) pair a
// component of the model occupies. A deployed control covers the cells of
// the requirements it serves and the layers it is placed in, at the
// domain/category of the component it sits at — both endpoints for a flow,
// every occupied pair for a model-wide control. Cells come out in framework
// order; a cell with Covered false is a gap.
func coverage(m *model.Model, c *catalogue.Catalogue, dep *deployment) []Coverage {
	var places []place
	for _, comp := range m.Components {
		p := place{comp.Domain, comp.Category}
		if !slices.Contains(places, p) {
			places = append(places, p)
		}
	}
	type cell struct {
		r framework.Requirement
		p place
		l framework.Layer
	}
	by := map[cell][]framework.ControlID{}
	for _, x := range m.Controls {
		ctl, _ := c.Control(x.ID) // newDeployment already checked it exists
		for _, p := range placesOf(m, x.At, places) {
			for _, r := range ctl.Requirements {
				for _, l := range ctl.Layers {
					k := cell{r, p, l}
					if !slices.Contains(by[k], x.ID) {
						by[k] = append(by[k], x.ID)
					}
				}
			}
		}
	}
	var out []Coverage
	for _, r := range framework.Requirements {
		for _, d := range framework.Domains {
			for _, cat := range framework.Categories {
				p := place{d, cat}
				if !slices.Contains(places, p) {
					continue
				}
				for _, l := range framework.Layers {
					ids := by[cell{r, p, l}]
					slices.Sort(ids)
					out = append(out, Coverage{Requirement: r, Domain: d, Category: cat, Layer: l, Covered: len(ids) > 0, Controls: ids})
				}
			}
		}
	}
	return out
}

func placesOf(m *model.Model, at string, all []place) []place {
	if at == "" {
		return all
	}
	ids := []string{at}
	if f := m.Flow(at); f != nil {
		ids = []string{f.From, f.To}
	}
	var out []place
	for _, id := range ids {
		if comp := m.Component(id); comp != nil {
			out = append(out, place{comp.Domain, comp.Category})
		}
	}
	return out
}

// UncoveredCells returns the cells of the coverage grid no deployed control covers.
func (r *Report) UncoveredCells() []Coverage {
	var out []Coverage
	for _, c := range r.Coverage {
		if !c.Covered {
			out = append(out, c)
		}
	}
	return out
}

// overlaps lists, for each threat with findings, the deployed or proposed
// (minimum-set) controls that mitigate it and share a service tag: two
// controls delivering the same service against the same threat, one of
// which may be redundant.
func overlaps(c *catalogue.Catalogue, dep *deployment, r *Report) []Overlap {
	pool := slices.Clone(dep.ids)
	for _, id := range r.MinimumSet.Controls {
		if !slices.Contains(pool, id) {
			pool = append(pool, id)
		}
	}
	slices.Sort(pool)
	out := []Overlap{}
	for _, row := range r.Threats {
		byService := map[string][]framework.ControlID{}
		var services []string
		for _, id := range pool {
			ctl, ok := c.Control(id)
			if !ok || !slices.Contains(ctl.Mitigates, row.ID) {
				continue
			}
			for _, s := range ctl.Services {
				if byService[s] == nil {
					services = append(services, s)
				}
				byService[s] = append(byService[s], id)
			}
		}
		slices.Sort(services)
		for _, s := range services {
			if len(byService[s]) > 1 {
				out = append(out, Overlap{Threat: row.ID, Service: s, Controls: byService[s]})
			}
		}
	}
	return out
}

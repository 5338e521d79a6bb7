package analysis

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/usapp/usapp/analysis/catalogue"
	"github.com/usapp/usapp/analysis/model"
	"github.com/usapp/usapp/analysis/rules"
	"github.com/usapp/usapp/framework"
)

// Options tune Analyze.
type Options struct {
	// Rules to run; nil runs rules.All().
	Rules []rules.Rule
	// ExactTimeLimit bounds the exact minimum-set search; 0 means 1 s.
	// The greedy answer is always available, so a short limit only costs
	// the proof of optimality.
	ExactTimeLimit time.Duration
}

// DefaultExactTimeLimit is the exact search's budget when Options leave it 0.
const DefaultExactTimeLimit = time.Second

// Analyze runs the method over a model: rules → findings → threat table,
// coverage, overlaps, minimum set, cascade and risk. It reads m and c only
// and is safe to call concurrently on the same inputs.
func Analyze(m *model.Model, c *catalogue.Catalogue, opts Options) (*Report, error) {
	if m == nil || c == nil {
		return nil, ErrNilInput
	}
	if opts.Rules == nil {
		opts.Rules = rules.All()
	}
	if opts.ExactTimeLimit <= 0 {
		opts.ExactTimeLimit = DefaultExactTimeLimit
	}
	dep, err := newDeployment(m, c)
	if err != nil {
		return nil, err
	}
	findings, err := collectFindings(m, c, dep, opts.Rules)
	if err != nil {
		return nil, err
	}
	r := &Report{Version: 1, Model: m.Meta.Name, Findings: findings}
	r.MinimumSet, r.Uncovered = minimumSet(c, findings, opts.ExactTimeLimit)
	r.Threats = threatTable(m, c, dep, findings)
	r.Coverage = coverage(m, c, dep)
	r.Overlaps = overlaps(c, dep, r)
	r.Cascade = cascade(m, c)
	return r, nil
}

// deployment indexes the model's deployed controls by where they sit.
type deployment struct {
	byAt      map[string][]framework.ControlID // "" = model-wide
	mitigates map[framework.ControlID][]string
	ids       []framework.ControlID // distinct, sorted
}

func newDeployment(m *model.Model, c *catalogue.Catalogue) (*deployment, error) {
	d := &deployment{byAt: map[string][]framework.ControlID{}, mitigates: map[framework.ControlID][]string{}}
	for _, x := range m.Controls {
		ctl, ok := c.Control(x.ID)
		if !ok {
			return nil, fmt.Errorf("%w: %s at %q", ErrUnknownControl, x.ID, x.At)
		}
		d.byAt[x.At] = append(d.byAt[x.At], x.ID)
		if _, seen := d.mitigates[x.ID]; !seen {
			d.mitigates[x.ID] = ctl.Mitigates
			d.ids = append(d.ids, x.ID)
		}
	}
	slices.Sort(d.ids)
	return d, nil
}

// scope lists where a control must sit to count for an element: model-wide,
// the element itself and, for a flow, its two endpoint components (a control
// at the receiver checks what arrives; one at the sender shapes what leaves).
func scope(m *model.Model, element string) []string {
	out := []string{"", element}
	if f := m.Flow(element); f != nil {
		out = append(out, f.From, f.To)
	}
	return out
}

// mitigators returns the deployed controls that answer threat at element,
// sorted and distinct.
func (d *deployment) mitigators(m *model.Model, element, threat string) []framework.ControlID {
	var out []framework.ControlID
	for _, at := range scope(m, element) {
		for _, id := range d.byAt[at] {
			if slices.Contains(d.mitigates[id], threat) && !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	slices.Sort(out)
	return out
}

func collectFindings(m *model.Model, c *catalogue.Catalogue, dep *deployment, rs []rules.Rule) ([]Finding, error) {
	na := make(map[string]string, len(m.NotApplicable))
	for _, n := range m.NotApplicable {
		na[n.Finding] = n.Reason
	}
	seen := map[string]bool{}
	var out []Finding
	for _, r := range rs {
		for _, h := range r.Check(m) {
			if _, ok := c.Threat(h.Threat); !ok {
				return nil, fmt.Errorf("%w: rule %s raised %q", ErrUnknownThreat, r.ID(), h.Threat)
			}
			f := Finding{ID: r.ID() + "/" + h.Threat + "/" + h.Element, Rule: r.ID(), Threat: h.Threat, Element: h.Element, Reason: h.Reason, Status: Open}
			if seen[f.ID] {
				continue
			}
			seen[f.ID] = true
			if reason, ok := na[f.ID]; ok {
				f.Status, f.Note = NotApplicable, reason
			} else if by := dep.mitigators(m, f.Element, f.Threat); len(by) > 0 {
				f.Status, f.MitigatedBy = Mitigated, by
			}
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b Finding) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

func controlIDs(cs []catalogue.Control) []framework.ControlID {
	out := make([]framework.ControlID, len(cs))
	for i, x := range cs {
		out[i] = x.ID
	}
	return out
}

func threatTable(m *model.Model, c *catalogue.Catalogue, dep *deployment, findings []Finding) []ThreatRow {
	byThreat := map[string][]Finding{}
	var order []string
	for _, f := range findings {
		if _, ok := byThreat[f.Threat]; !ok {
			order = append(order, f.Threat)
		}
		byThreat[f.Threat] = append(byThreat[f.Threat], f)
	}
	slices.Sort(order)
	out := make([]ThreatRow, 0, len(order))
	for _, id := range order {
		t, _ := c.Threat(id)
		fs := byThreat[id]
		row := ThreatRow{ID: id, Name: t.Name, Classes: c.ClassesFor(id), Controls: controlIDs(c.ControlsFor(id)),
			Risk: risk(m, t, fs)}
		if row.Classes == nil {
			row.Classes = []framework.Class{}
		}
		if row.Controls == nil {
			row.Controls = []framework.ControlID{}
		}
		for _, f := range fs {
			row.Findings = append(row.Findings, f.ID)
		}
		out = append(out, row)
	}
	return out
}

package report

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/usapp/usapp/analysis"
	"github.com/usapp/usapp/framework"
)

// Change says how an item differs between two reports.
type Change string

// The three kinds of change.
const (
	Added   Change = "added"
	Removed Change = "removed"
	Changed Change = "changed"
)

// ThreatChange is a row of the threat × class table that appeared,
// disappeared, or whose classes, controls or findings changed (risk changes
// are in Delta.Risks).
type ThreatChange struct {
	ID     string              `json:"id"`
	Change Change              `json:"change"`
	Old    *analysis.ThreatRow `json:"old,omitempty"`
	New    *analysis.ThreatRow `json:"new,omitempty"`
}

// FindingChange is a finding, matched by its stable ID, that appeared,
// disappeared, or whose status, reason, note or mitigating controls changed.
type FindingChange struct {
	ID     string            `json:"id"`
	Change Change            `json:"change"`
	Old    *analysis.Finding `json:"old,omitempty"`
	New    *analysis.Finding `json:"new,omitempty"`
}

// RiskChange is a threat present in both reports whose risk changed.
type RiskChange struct {
	Threat string        `json:"threat"`
	Old    analysis.Risk `json:"old"`
	New    analysis.Risk `json:"new"`
}

// ControlChange is a control that entered or left the minimum set.
type ControlChange struct {
	ID     framework.ControlID `json:"id"`
	Change Change              `json:"change"`
}

// Delta is what changed from one report to the next: the update step of the
// method (redo the analysis when a control is deployed, a use case is added
// or goals change) made visible. Every list is sorted by ID.
type Delta struct {
	OldModel   string          `json:"old_model"`
	NewModel   string          `json:"new_model"`
	Threats    []ThreatChange  `json:"threats"`
	Findings   []FindingChange `json:"findings"`
	Risks      []RiskChange    `json:"risks"`
	MinimumSet []ControlChange `json:"minimum_set"`
	OldCost    int             `json:"old_cost"`
	NewCost    int             `json:"new_cost"`
}

// Empty reports whether nothing changed.
func (d *Delta) Empty() bool {
	return len(d.Threats)+len(d.Findings)+len(d.Risks)+len(d.MinimumSet) == 0 && d.OldCost == d.NewCost
}

// Diff compares two reports by stable IDs. Neither report is modified; the
// Delta holds copies.
func Diff(old, new *analysis.Report) Delta {
	d := Delta{OldModel: old.Model, NewModel: new.Model, OldCost: old.MinimumSet.TotalCost, NewCost: new.MinimumSet.TotalCost}
	d.Threats = diffThreats(old.Threats, new.Threats)
	d.Risks = diffRisks(old.Threats, new.Threats)
	d.Findings = diffFindings(old.Findings, new.Findings)
	d.MinimumSet = diffControls(old.MinimumSet.Controls, new.MinimumSet.Controls)
	return d
}

// pair matches two lists by key and calls fn for every key in either, in
// key order; a side without the key is nil.
func pair[T any](old, new []T, key func(*T) string, fn func(k string, o, n *T)) {
	om, nm := map[string]*T{}, map[string]*T{}
	var keys []string
	for i := range old {
		om[key(&old[i])] = &old[i]
		keys = append(keys, key(&old[i]))
	}
	for i := range new {
		nm[key(&new[i])] = &new[i]
		keys = append(keys, key(&new[i]))
	}
	slices.Sort(keys)
	for _, k := range slices.Compact(keys) {
		fn(k, om[k], nm[k])
	}
}

func kindOf[T any](o, n *T, same func() bool) (Change, bool) {
	switch {
	case o == nil:
		return Added, true
	case n == nil:
		return Removed, true
	case !same():
		return Changed, true
	}
	return "", false
}

func cloneOf[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func diffThreats(old, new []analysis.ThreatRow) []ThreatChange {
	var out []ThreatChange
	pair(old, new, func(t *analysis.ThreatRow) string { return t.ID }, func(k string, o, n *analysis.ThreatRow) {
		ch, ok := kindOf(o, n, func() bool {
			return o.Name == n.Name && sameSet(o.Classes, n.Classes) && sameSet(o.Controls, n.Controls) && sameSet(o.Findings, n.Findings)
		})
		if ok {
			out = append(out, ThreatChange{ID: k, Change: ch, Old: cloneOf(o), New: cloneOf(n)})
		}
	})
	return out
}

func diffRisks(old, new []analysis.ThreatRow) []RiskChange {
	var out []RiskChange
	pair(old, new, func(t *analysis.ThreatRow) string { return t.ID }, func(k string, o, n *analysis.ThreatRow) {
		if o != nil && n != nil && o.Risk != n.Risk {
			out = append(out, RiskChange{Threat: k, Old: o.Risk, New: n.Risk})
		}
	})
	return out
}

func diffFindings(old, new []analysis.Finding) []FindingChange {
	var out []FindingChange
	pair(old, new, func(f *analysis.Finding) string { return f.ID }, func(k string, o, n *analysis.Finding) {
		ch, ok := kindOf(o, n, func() bool {
			return o.Status == n.Status && o.Reason == n.Reason && o.Note == n.Note && sameSet(o.MitigatedBy, n.MitigatedBy)
		})
		if ok {
			out = append(out, FindingChange{ID: k, Change: ch, Old: cloneOf(o), New: cloneOf(n)})
		}
	})
	return out
}

func diffControls(old, new []framework.ControlID) []ControlChange {
	var out []ControlChange
	for _, id := range sortedUnion(old, new) {
		switch in, was := slices.Contains(new, id), slices.Contains(old, id); {
		case in && !was:
			out = append(out, ControlChange{id, Added})
		case was && !in:
			out = append(out, ControlChange{id, Removed})
		}
	}
	return out
}

func sortedUnion[T ~string](a, b []T) []T {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

// sameSet compares two lists as sets: the analysis sorts them, but a
// hand-written or older report need not.
func sameSet[T ~string](a, b []T) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(slices.Compact(x), slices.Compact(y))
}

// DeltaJSON writes d as indented JSON.
func DeltaJSON(w io.Writer, d *Delta) error { return writeJSON(w, d) }

// DeltaMarkdown writes d as a Markdown change note.
func DeltaMarkdown(w io.Writer, d *Delta) error {
	bw := bufio.NewWriter(w)
	md := &mdWriter{w: bw}
	md.f("# USaPP analysis changes: %s → %s\n\n", inline(d.OldModel), inline(d.NewModel))
	if d.Empty() {
		md.f("No changes.\n")
		return bw.Flush()
	}
	md.f("## Threats\n\n")
	for _, t := range d.Threats {
		md.f("- %s %s%s\n", t.Change, code(t.ID), threatDetail(t))
	}
	md.f("\n## Risks\n\n")
	for _, r := range d.Risks {
		md.f("- %s: before %s → %s, after %s → %s\n", code(r.Threat), score(r.Old.Before), score(r.New.Before), score(r.Old.After), score(r.New.After))
	}
	md.f("\n## Findings\n\n")
	for _, f := range d.Findings {
		md.f("- %s %s%s\n", f.Change, code(f.ID), findingDetail(f))
	}
	md.f("\n## Minimum set\n\nCost %d → %d.\n\n", d.OldCost, d.NewCost)
	for _, c := range d.MinimumSet {
		md.f("- %s %s\n", c.Change, code(string(c.ID)))
	}
	return bw.Flush()
}

func threatDetail(t ThreatChange) string {
	if t.Change != Changed {
		return ""
	}
	var parts []string
	if !sameSet(t.Old.Classes, t.New.Classes) {
		parts = append(parts, fmt.Sprintf("classes %v → %v", t.Old.Classes, t.New.Classes))
	}
	if !sameSet(t.Old.Controls, t.New.Controls) {
		parts = append(parts, fmt.Sprintf("controls %v → %v", t.Old.Controls, t.New.Controls))
	}
	if !sameSet(t.Old.Findings, t.New.Findings) {
		parts = append(parts, fmt.Sprintf("findings %d → %d", len(t.Old.Findings), len(t.New.Findings)))
	}
	if t.Old.Name != t.New.Name {
		parts = append(parts, "renamed")
	}
	return ": " + inline(strings.Join(parts, "; "))
}

func findingDetail(f FindingChange) string {
	switch f.Change {
	case Added:
		return fmt.Sprintf(" (%s)", f.New.Status)
	case Removed:
		return fmt.Sprintf(" (was %s)", f.Old.Status)
	}
	var parts []string
	if f.Old.Status != f.New.Status {
		parts = append(parts, fmt.Sprintf("status %s → %s", f.Old.Status, f.New.Status))
	}
	if !sameSet(f.Old.MitigatedBy, f.New.MitigatedBy) {
		parts = append(parts, fmt.Sprintf("mitigated by %v → %v", f.Old.MitigatedBy, f.New.MitigatedBy))
	}
	if f.Old.Reason != f.New.Reason {
		parts = append(parts, "reason changed")
	}
	if f.Old.Note != f.New.Note {
		parts = append(parts, "note changed")
	}
	return ": " + inline(strings.Join(parts, "; "))
}

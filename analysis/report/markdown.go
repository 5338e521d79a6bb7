package report

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/usapp/usapp/analysis"
	"github.com/usapp/usapp/analysis/catalogue"
	"github.com/usapp/usapp/analysis/model"
	"github.com/usapp/usapp/framework"
)

// classes is the column order of the threat × class table.
var classes = []framework.Class{framework.Communications, framework.Computing, framework.Control}

// statuses is the order findings are grouped in: what needs work first.
var statuses = []analysis.Status{analysis.Open, analysis.Mitigated, analysis.NotApplicable}

// Markdown writes rep as a Markdown review document. m and c may be nil; the
// catalogue adds control names, classes, costs and layers to the minimum
// set, the model adds the model's description.
func Markdown(w io.Writer, rep *analysis.Report, m *model.Model, c *catalogue.Catalogue) error {
	if rep == nil {
		return ErrNoReport
	}
	bw := bufio.NewWriter(w)
	md := &mdWriter{w: bw}
	md.header(rep, m)
	md.summary(rep)
	md.threatTable(rep)
	md.findings(rep)
	md.minimumSet(rep, c)
	md.uncovered(rep)
	md.coverageGaps(rep)
	md.overlaps(rep)
	md.cascade(rep)
	return bw.Flush()
}

// mdWriter keeps section functions short: bufio.Writer remembers the first
// write error and Flush reports it.
type mdWriter struct{ w *bufio.Writer }

func (md *mdWriter) f(format string, args ...any) { fmt.Fprintf(md.w, format, args...) }

func (md *mdWriter) header(rep *analysis.Report, m *model.Model) {
	md.f("# USaPP analysis: %s\n\n", inline(rep.Model))
	if m != nil && m.Meta.Description != "" {
		md.f("%s\n\n", inline(m.Meta.Description))
	}
}

// Summary holds the headline numbers of a report.
type Summary struct {
	Findings        int
	Open            int
	Mitigated       int
	NotApplicable   int
	Threats         int
	Uncovered       int
	CoverageCells   int
	CoveredCells    int
	MaxResidual     float64 // highest residual risk among threats with an open finding
	MaxResidualOf   string  // the threat holding it
	MinimumControls int
}

// Summarise computes the headline numbers of rep.
func Summarise(rep *analysis.Report) Summary {
	s := Summary{
		Findings:        len(rep.Findings),
		Threats:         len(rep.Threats),
		Uncovered:       len(rep.Uncovered),
		CoverageCells:   len(rep.Coverage),
		MinimumControls: len(rep.MinimumSet.Controls),
	}
	for _, f := range rep.Findings {
		switch f.Status {
		case analysis.Open:
			s.Open++
		case analysis.Mitigated:
			s.Mitigated++
		case analysis.NotApplicable:
			s.NotApplicable++
		}
	}
	for _, cv := range rep.Coverage {
		if cv.Covered {
			s.CoveredCells++
		}
	}
	s.MaxResidualOf, s.MaxResidual = MaxOpenResidual(rep)
	return s
}

// MaxOpenResidual returns the threat with the highest residual risk among
// those raised by at least one open finding, and that risk; ("", 0) when no
// finding is open. Ties go to the smaller threat ID.
func MaxOpenResidual(rep *analysis.Report) (string, float64) {
	open := map[string]bool{}
	for _, f := range rep.Findings {
		if f.Status == analysis.Open {
			open[f.Threat] = true
		}
	}
	best, risk := "", 0.0
	for _, t := range rep.Threats {
		if !open[t.ID] {
			continue
		}
		if best == "" || t.Risk.After > risk || t.Risk.After == risk && t.ID < best {
			best, risk = t.ID, t.Risk.After
		}
	}
	return best, risk
}

func (md *mdWriter) summary(rep *analysis.Report) {
	s := Summarise(rep)
	md.f("## Summary\n\n")
	md.f("- Findings: %d (open %d, mitigated %d, not applicable %d)\n", s.Findings,
		s.Open, s.Mitigated, s.NotApplicable)
	md.f("- Threats: %d, of which %d no catalogue control mitigates\n", s.Threats, s.Uncovered)
	if s.MaxResidualOf != "" {
		md.f("- Highest residual risk of an open threat: %s (%s, %s)\n", score(s.MaxResidual), code(s.MaxResidualOf), SeverityOf(s.MaxResidual))
	} else {
		md.f("- Highest residual risk of an open threat: none open\n")
	}
	md.f("- Coverage: %d of %d (requirement, domain, category, layer) cells covered\n", s.CoveredCells, s.CoverageCells)
	md.f("- Minimum set: %d controls, cost %d%s\n\n", s.MinimumControls, rep.MinimumSet.TotalCost, optimality(rep.MinimumSet))
}

func optimality(ms analysis.MinimumSet) string {
	if ms.Optimal {
		return " (optimal)"
	}
	return fmt.Sprintf(" (not proved optimal, gap %.1f%%)", ms.Gap*100)
}

func (md *mdWriter) threatTable(rep *analysis.Report) {
	md.f("## Threats × classes\n\n")
	if len(rep.Threats) == 0 {
		md.f("No threats.\n\n")
		return
	}
	md.f("| Threat | Name | Communications | Computing | Control | Risk before | Risk after | Findings |\n")
	md.f("|---|---|:-:|:-:|:-:|--:|--:|--:|\n")
	for _, t := range rep.Threats {
		md.f("| %s | %s |", code(t.ID), cell(t.Name))
		for _, cl := range classes {
			md.f(" %s |", tick(slices.Contains(t.Classes, cl)))
		}
		md.f(" %s | %s | %d |\n", score(t.Risk.Before), score(t.Risk.After), len(t.Findings))
	}
	md.f("\n")
}

func tick(ok bool) string {
	if ok {
		return "✓"
	}
	return ""
}

func (md *mdWriter) findings(rep *analysis.Report) {
	md.f("## Findings\n\n")
	for _, st := range statuses {
		list := FindingsWith(rep, st)
		md.f("### %s (%d)\n\n", statusTitle(st), len(list))
		for _, f := range list {
			md.f("- %s: threat %s at %s, rule %s. %s", code(f.ID), code(f.Threat), code(f.Element), code(f.Rule), sentence(f.Reason))
			if len(f.MitigatedBy) > 0 {
				md.f(" Mitigated by %s.", codeList(f.MitigatedBy))
			}
			if f.Note != "" {
				md.f(" Not applicable: %s", inline(f.Note))
			}
			md.f("\n")
		}
		if len(list) > 0 {
			md.f("\n")
		}
	}
}

// FindingsWith returns rep's findings of one status, sorted by ID.
func FindingsWith(rep *analysis.Report, st analysis.Status) []analysis.Finding {
	var out []analysis.Finding
	for _, f := range rep.Findings {
		if f.Status == st {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b analysis.Finding) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func statusTitle(st analysis.Status) string {
	switch st {
	case analysis.Open:
		return "Open"
	case analysis.Mitigated:
		return "Mitigated"
	case analysis.NotApplicable:
		return "Not applicable"
	}
	return string(st)
}

func (md *mdWriter) minimumSet(rep *analysis.Report, c *catalogue.Catalogue) {
	ms := rep.MinimumSet
	md.f("## Minimum set\n\n")
	md.f("Total cost %d%s; greedy cost %d; gap %.1f%%.\n\n", ms.TotalCost, optimality(ms), ms.Greedy, ms.Gap*100)
	if len(ms.Controls) == 0 {
		md.f("No controls needed.\n\n")
		return
	}
	md.f("| Control | Name | Class | Layers | Cost |\n|---|---|---|---|--:|\n")
	for _, id := range ms.Controls {
		name, class, layers, cost := string(id), string(id.Subclass().Class()), "", ""
		if c != nil {
			if ctl, ok := c.Control(id); ok {
				name, layers, cost = ctl.Name, joinLayers(ctl.Layers), fmt.Sprint(ctl.Cost)
			}
		}
		md.f("| %s | %s | %s | %s | %s |\n", code(string(id)), cell(name), class, layers, cost)
	}
	md.f("\n")
}

func joinLayers(ls []framework.Layer) string {
	s := make([]string, len(ls))
	for i, l := range ls {
		s[i] = string(l)
	}
	return strings.Join(s, ", ")
}

func (md *mdWriter) uncovered(rep *analysis.Report) {
	md.f("## Uncovered threats\n\n")
	if len(rep.Uncovered) == 0 {
		md.f("Every threat found has at least one catalogue control.\n\n")
		return
	}
	names := threatNames(rep)
	for _, id := range rep.Uncovered {
		md.f("- %s %s\n", code(id), inline(names[id]))
	}
	md.f("\n")
}

func threatNames(rep *analysis.Report) map[string]string {
	out := make(map[string]string, len(rep.Threats))
	for _, t := range rep.Threats {
		out[t.ID] = t.Name
	}
	return out
}

func (md *mdWriter) coverageGaps(rep *analysis.Report) {
	md.f("## Coverage\n\n")
	type place struct {
		d framework.Domain
		c framework.Category
	}
	type cell struct {
		p place
		r framework.Requirement
		l framework.Layer
	}
	covered := map[cell]bool{}
	present := map[place]bool{}
	gaps := 0
	for _, cv := range rep.Coverage {
		p := place{cv.Domain, cv.Category}
		present[p] = true
		covered[cell{p, cv.Requirement, cv.Layer}] = cv.Covered
		if !cv.Covered {
			gaps++
		}
	}
	if gaps == 0 {
		md.f("No gaps: every needed (requirement, domain, category, layer) cell holds a deployed control.\n\n")
		return
	}
	md.f("Where a deployed control serves each requirement (✓) and where none does (·), for every place the model's components occupy; %d of %d cells are gaps.\n\n", gaps, len(rep.Coverage))
	for _, d := range framework.Domains {
		for _, c := range framework.Categories {
			p := place{d, c}
			if !present[p] {
				continue
			}
			md.f("### %s, %s\n\n| Requirement |", d, c)
			for _, l := range framework.Layers {
				md.f(" %s |", l)
			}
			md.f("\n|---|%s\n", strings.Repeat(":-:|", len(framework.Layers)))
			for _, r := range framework.Requirements {
				md.f("| %s |", r)
				for _, l := range framework.Layers {
					mark := "·"
					if covered[cell{p, r, l}] {
						mark = "✓"
					}
					md.f(" %s |", mark)
				}
				md.f("\n")
			}
			md.f("\n")
		}
	}
}

func (md *mdWriter) overlaps(rep *analysis.Report) {
	md.f("## Overlaps\n\n")
	if len(rep.Overlaps) == 0 {
		md.f("No two deployed controls deliver the same service against the same threat.\n\n")
		return
	}
	for _, o := range rep.Overlaps {
		md.f("- %s against %s: %s\n", inline(o.Service), code(o.Threat), codeList(o.Controls))
	}
	md.f("\n")
}

func (md *mdWriter) cascade(rep *analysis.Report) {
	md.f("## Cascade ranking\n\n")
	if len(rep.Cascade) == 0 {
		md.f("No component's compromise reaches another.\n\n")
		return
	}
	md.f("| # | Component | Score | Reaches | Cut by |\n|--:|---|--:|---|---|\n")
	for i, e := range rep.Cascade {
		md.f("| %d | %s | %s | %s | %s |\n", i+1, code(e.Component), score(e.Score), cell(strings.Join(e.Reaches, ", ")), codeList(e.CutBy))
	}
	md.f("\n")
}

// sentence makes a reason read as a sentence before more text follows.
func sentence(s string) string {
	s = inline(s)
	if s == "" || strings.HasSuffix(s, ".") || strings.HasSuffix(s, "!") || strings.HasSuffix(s, "?") {
		return s
	}
	return s + "."
}

// score prints a risk or cascade score without noise digits.
func score(x float64) string { return fmt.Sprintf("%.4g", x) }

// inline makes free text safe on one Markdown line.
func inline(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// cell makes free text safe inside a Markdown table cell.
func cell(s string) string { return strings.ReplaceAll(inline(s), "|", `\|`) }

// code wraps an identifier in backticks; identifiers from a model are
// user-chosen, so backticks inside are dropped rather than trusted.
func code(s string) string {
	if s == "" {
		return ""
	}
	return "`" + strings.ReplaceAll(cell(s), "`", "") + "`"
}

func codeList[T ~string](ids []T) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = code(string(id))
	}
	return strings.Join(s, ", ")
}

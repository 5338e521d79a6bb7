package report

import (
	"slices"

	"github.com/usapp/usapp/analysis"
)

// Threat × class figure geometry.
const (
	tcIDW    = 220.0
	tcNameW  = 330.0
	tcClassW = 120.0
	tcRiskW  = 90.0
	tcRowH   = 22.0
)

// threatClassSVG draws figure (c): the threat × class table, one row per
// threat, a tick where a class holds a control that mitigates it. Rows of
// threats no class covers are tinted.
func threatClassSVG(rep *analysis.Report) string {
	width := tcIDW + tcNameW + float64(len(classes))*tcClassW + 2*tcRiskW + 2
	height := float64(len(rep.Threats)+1)*tcRowH + 2
	s := newSVG("threat-class", "Threats × classes of controls", width, height)
	head := []string{"threat", "name"}
	for _, cl := range classes {
		head = append(head, string(cl))
	}
	head = append(head, "risk before", "risk after")
	tcRow(s, 0, head, `class="head"`, `font-weight="bold"`)
	for i, t := range rep.Threats {
		y := float64(i+1) * tcRowH
		s.tip(t.ID + ": " + t.Name)
		bg := `class="no"`
		if len(t.Classes) == 0 {
			bg = `class="bare"`
		}
		tcRow(s, y, []string{clip(t.ID, 30), clip(t.Name, 48)}, bg, ``)
		x := tcIDW + tcNameW
		for _, cl := range classes {
			if slices.Contains(t.Classes, cl) {
				s.rect(x, y, tcClassW, tcRowH, `class="yes"`)
				s.text(x+tcClassW/2, y+16, `text-anchor="middle" font-weight="bold" fill="#1e8449"`, "✓")
			} else {
				s.rect(x, y, tcClassW, tcRowH, bg)
			}
			x += tcClassW
		}
		for _, r := range []float64{t.Risk.Before, t.Risk.After} {
			s.rect(x, y, tcRiskW, tcRowH, bg)
			s.text(x+tcRiskW-6, y+16, `text-anchor="end" class="`+SeverityOf(r).String()+`"`, score(r))
			x += tcRiskW
		}
		s.end()
	}
	return s.String()
}

// tcRow draws a header or the first two cells of a body row; a header row
// spans every column.
func tcRow(s *svg, y float64, cells []string, bg, font string) {
	widths := []float64{tcIDW, tcNameW}
	for range classes {
		widths = append(widths, tcClassW)
	}
	widths = append(widths, tcRiskW, tcRiskW)
	x := 0.0
	for i, c := range cells {
		s.rect(x, y, widths[i], tcRowH, bg)
		s.text(x+6, y+15, font, c)
		x += widths[i]
	}
}

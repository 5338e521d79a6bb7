package plot

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"

	gonum "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/usapp/usapp/privacy/eval"
)

var targetColor = color.RGBA{R: 200, G: 235, B: 200, A: 255}

// TradeOff writes tradeoff.png into dir and returns its path: mutual
// information against extra energy, one labelled point per algorithm of rows
// (rows at one battery, as eval.Evaluate returns them; "none" sits at the
// no-hiding corner) and the non-causal reference of eval.Reference as a
// dashed curve labelled with its hold counts. A point below and left of the
// curve would beat a clairvoyant flat-level hider; the shaded region is
// target's MI and extra energy (none for the zero Target). Rows that carry
// MIFloorBits (eval.AddFloors) get a dotted drop to their floor.
func TradeOff(dir string, rows []eval.Row, ref []eval.ReferencePoint, target eval.Target) (string, error) {
	if len(rows) == 0 && len(ref) == 0 {
		return "", ErrNoData
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	p := newEnergyPrivacyPlot("extra energy (% of demand)", "mutual information I(demand; metered) (bits)", target)
	p.Title.Text = "privacy against energy"
	for _, r := range rows {
		if r.Algorithm != eval.None { // "none" has no battery
			p.Title.Text += fmt.Sprintf(", battery %g kWh / %g kW", r.BatteryKWh, r.BatteryKW)
			break
		}
	}
	if len(ref) > 0 {
		if err := addReferenceCurve(p, ref); err != nil {
			return "", err
		}
	}
	if err := addAlgorithmPoints(p, rows); err != nil {
		return "", err
	}
	// Room on the right for the labels of the costliest points.
	p.X.Max = math.Max(p.X.Max, target.ExtraEnergyPct) * 1.15
	path := filepath.Join(dir, "tradeoff.png")
	return path, save(path, 8*vg.Inch, 6*vg.Inch, [][]*gonum.Plot{{p}}, nil, nil)
}

// newEnergyPrivacyPlot is the frame of every privacy-against-energy figure:
// both axes from zero, the legend at the top, the target's region shaded
// (addTargetBox) and a grid. Callers set the title and add the data.
func newEnergyPrivacyPlot(xLabel, yLabel string, target eval.Target) *gonum.Plot {
	p := gonum.New()
	p.X.Label.Text, p.Y.Label.Text = xLabel, yLabel
	p.X.Min, p.Y.Min = 0, 0
	p.Legend.Top = true
	addTargetBox(p, target)
	p.Add(plotter.NewGrid())
	return p
}

// addTargetBox shades the region of target's MI and extra energy, when the
// target sets both.
func addTargetBox(p *gonum.Plot, target eval.Target) {
	if !(target.MIBits > 0 && target.ExtraEnergyPct > 0) {
		return
	}
	box, err := plotter.NewPolygon(plotter.XYs{{X: 0, Y: 0}, {X: target.ExtraEnergyPct, Y: 0},
		{X: target.ExtraEnergyPct, Y: target.MIBits}, {X: 0, Y: target.MIBits}})
	if err == nil {
		box.Color, box.LineStyle.Width = targetColor, 0
		p.Add(box)
		p.Legend.Add(fmt.Sprintf("target: ≤ %g bits, ≤ %g %%", target.MIBits, target.ExtraEnergyPct), box)
	}
}

func addReferenceCurve(p *gonum.Plot, ref []eval.ReferencePoint) error {
	xy := make(plotter.XYs, len(ref))
	labels := make([]string, len(ref))
	for i, r := range ref {
		xy[i] = plotter.XY{X: r.ExtraEnergyPct, Y: r.MIBits}
		labels[i] = strconv.Itoa(r.Holds)
	}
	l, s, err := plotter.NewLinePoints(xy)
	if err != nil {
		return err
	}
	l.Color, s.Color = color.Black, color.Black
	l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	s.Shape, s.Radius = draw.CircleGlyph{}, vg.Points(2)
	lab, err := plotter.NewLabels(plotter.XYLabels{XYs: xy, Labels: labels})
	if err != nil {
		return err
	}
	for i := range lab.TextStyle {
		lab.TextStyle[i].Color = color.Gray{Y: 80}
		lab.Offset = vg.Point{X: vg.Points(4), Y: vg.Points(2)}
	}
	p.Add(l, s, lab)
	p.Legend.Add("non-causal reference (flat holds per day)", l, s)
	return nil
}

// addAlgorithmPoints marks each algorithm once, with the colour and shape it
// has in the privacy-against-battery figure, and a dotted whisker down to its
// MI floor where the rows carry one (eval.AddFloors).
func addAlgorithmPoints(p *gonum.Plot, rows []eval.Row) error {
	var i int
	legendFloor := true
	for _, name := range algorithms(rows) {
		var r eval.Row
		for _, row := range rows {
			if row.Algorithm == name {
				r = row
				break
			}
		}
		pt := plotter.XYs{{X: r.ExtraEnergyPct, Y: r.MIBits}}
		s, err := plotter.NewScatter(pt)
		if err != nil {
			return err
		}
		if name == eval.None {
			s.Color, s.Shape = color.Black, draw.CrossGlyph{}
		} else {
			s.Color, s.Shape = plotutil.Color(i), plotutil.Shape(i)
			i++
		}
		s.Radius = vg.Points(4)
		if r.MIFloorBits != nil {
			if err := addFloorWhisker(p, r, s.Color, legendFloor); err != nil {
				return err
			}
			legendFloor = false
		}
		lab, err := plotter.NewLabels(plotter.XYLabels{XYs: pt, Labels: []string{name}})
		if err != nil {
			return err
		}
		lab.Offset = vg.Point{X: vg.Points(6), Y: vg.Points(-3)}
		p.Add(s, lab)
	}
	return nil
}

// addFloorWhisker draws a dotted drop from r's point to its MI floor, ending
// in a short bar: how much lower any hider with the battery could go at the
// same range and extra energy.
func addFloorWhisker(p *gonum.Plot, r eval.Row, c color.Color, legend bool) error {
	x, floor := r.ExtraEnergyPct, math.Min(*r.MIFloorBits, r.MIBits)
	drop, err := plotter.NewLine(plotter.XYs{{X: x, Y: r.MIBits}, {X: x, Y: floor}})
	if err != nil {
		return err
	}
	drop.Color, drop.Dashes = c, []vg.Length{vg.Points(1), vg.Points(2)}
	bar, err := plotter.NewScatter(plotter.XYs{{X: x, Y: floor}})
	if err != nil {
		return err
	}
	bar.Color, bar.Shape, bar.Radius = c, barGlyph{}, vg.Points(4)
	p.Add(drop, bar)
	if legend {
		p.Legend.Add("MI floor: any hider with this battery, same range and cost", drop, bar)
	}
	return nil
}

// barGlyph is a short horizontal bar, the end of a floor whisker.
type barGlyph struct{}

func (barGlyph) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	c.StrokeLine2(draw.LineStyle{Color: sty.Color, Width: vg.Points(1.5)}, pt.X-sty.Radius, pt.Y, pt.X+sty.Radius, pt.Y)
}

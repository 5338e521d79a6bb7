package plot

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"

	gonum "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/usapp/usapp/control/energy"
	"github.com/usapp/usapp/privacy/eval"
)

// Frontier writes frontier.png into dir and returns its path: mean mutual
// information against mean extra energy for every setting in means (as
// eval.MeasureSettings returns them), one colour and shape per family, each
// family's eval.Frontier joined by a line, and the target's region shaded
// (none for the zero Target). A family whose line runs below and left of
// another's hides better at every energy both reach.
func Frontier(dir string, means []eval.SettingMeans, days int, target eval.Target) (string, error) {
	if len(means) == 0 {
		return "", ErrNoData
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	p := newEnergyPrivacyPlot("mean extra energy (% of demand)", "mean mutual information, worst attacker (bits)", target)
	p.Title.Text = fmt.Sprintf("privacy against energy, every setting of every family, mean over %d days", days)
	front := eval.Frontier(means)
	for _, fam := range eval.Families(means) {
		if err := addFamily(p, fam, means, front); err != nil {
			return "", err
		}
	}
	// Room at the top for the legend.
	p.X.Max = math.Max(p.X.Max, target.ExtraEnergyPct) * 1.05
	p.Y.Max = math.Max(p.Y.Max, target.MIBits) * 1.3
	path := filepath.Join(dir, "frontier.png")
	return path, save(path, 8*vg.Inch, 6*vg.Inch, [][]*gonum.Plot{{p}}, nil, nil)
}

// addFamily draws one family's settings as small marks and its frontier as
// a line through larger ones, in the colour and shape the family has in the
// other figures (its place among the registered algorithms).
func addFamily(p *gonum.Plot, fam string, means, front []eval.SettingMeans) error {
	var all, best plotter.XYs
	for _, m := range means {
		if m.Family == fam {
			all = append(all, plotter.XY{X: m.ExtraEnergyPct, Y: m.MIBits})
		}
	}
	for _, m := range front {
		if m.Family == fam {
			best = append(best, plotter.XY{X: m.ExtraEnergyPct, Y: m.MIBits})
		}
	}
	i := max(0, slices.Index(energy.Names(), fam))
	c, shape := plotutil.Color(i), plotutil.Shape(i)
	s, err := plotter.NewScatter(all)
	if err != nil {
		return err
	}
	s.Color, s.Shape, s.Radius = c, shape, vg.Points(2)
	l, lp, err := plotter.NewLinePoints(best)
	if err != nil {
		return err
	}
	l.Color, l.Width = c, vg.Points(1.5)
	lp.Color, lp.Shape, lp.Radius = c, shape, vg.Points(4)
	p.Add(s, l, lp)
	noun := "settings"
	if len(all) == 1 {
		noun = "setting"
	}
	p.Legend.Add(fmt.Sprintf("%s (%d %s)", fam, len(all), noun), l, lp)
	return nil
}

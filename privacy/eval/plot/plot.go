// Package plot implements the figures of C3.load-hiding's evaluation: PNG
// images, drawn with gonum.org/v1/plot, of what the meter reports under each
// hiding algorithm and of privacy against battery size.
//
// It is an adapter: it writes files into the directory it is given and
// nothing else. Figures are drawn from the outcome of package eval and do not
// recompute any metric, so a figure always shows the numbers in the table.
//
// # Figures
//
//   - [Loads]: one load_<algorithm>.png per run, true demand and metered
//     power (kW) over the trace, with the battery's state of charge (kWh)
//     underneath and, for an algorithm that steers to one, the target it
//     steered toward (energy.Result.Target: for usapp the price shape, the
//     reserve for the loads ahead and the return to the starting charge).
//   - [Privacy]: privacy_vs_battery.png, the worst attacker's event F1 and
//     the mutual information I(demand; metered) in bits against battery
//     capacity (kWh) for every algorithm, the no-battery reference drawn as a
//     dashed horizontal line.
//   - [TradeOff]: tradeoff.png, mutual information against extra energy for
//     every algorithm at one battery, over the non-causal reference curve of
//     eval.Reference, with a target region shaded.
//
// # Concurrency
//
// Functions share no state and may run concurrently on different
// directories.
package plot

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	gonum "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/usapp/usapp/privacy/eval"
	"github.com/usapp/usapp/sim/household"
)

// ErrNoData means there was nothing to draw.
var ErrNoData = errors.New("plot: nothing to draw")

const dpi = 96

var (
	demandColor  = color.RGBA{R: 150, G: 150, B: 150, A: 255}
	meteredColor = color.RGBA{R: 200, G: 40, B: 40, A: 255}
	socColor     = color.RGBA{R: 30, G: 90, B: 180, A: 255}
	steerColor   = color.RGBA{R: 230, G: 140, B: 20, A: 255}
)

// Loads writes load_<algorithm>.png into dir for every run and returns the
// paths written, in run order.
func Loads(dir string, tr *household.Trace, runs []eval.Hidden) ([]string, error) {
	if tr == nil || len(tr.Mains) == 0 || len(runs) == 0 {
		return nil, ErrNoData
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	paths := make([]string, 0, len(runs))
	for _, h := range runs {
		path := filepath.Join(dir, "load_"+fileSafe(h.Algorithm)+".png")
		top, bottom := loadPlots(tr, h)
		if err := save(path, 11*vg.Inch, 6*vg.Inch, [][]*gonum.Plot{{top}, {bottom}}, []float64{0.68, 0.32}, nil); err != nil {
			return nil, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}

func loadPlots(tr *household.Trace, h eval.Hidden) (top, bottom *gonum.Plot) {
	xlabel := fmt.Sprintf("time (h from %s)", tr.Start.UTC().Format("2006-01-02 15:04 MST"))
	top = gonum.New()
	top.Title.Text = fmt.Sprintf("%s: %s, true demand vs metered load", tr.Name, h.Algorithm)
	top.X.Label.Text = xlabel
	top.Y.Label.Text = "power (kW)"
	top.Add(plotter.NewGrid())
	demand := line(hours(tr.Step, len(tr.Mains)), scale(tr.Mains, 1e-3), demandColor, 1)
	metered := line(hours(tr.Step, len(h.Metered)), scale(h.Metered, 1e-3), meteredColor, 1.2)
	top.Add(demand, metered)
	top.Legend.Add("true demand p", demand)
	top.Legend.Add("metered p_i ("+h.Algorithm+")", metered)
	top.Legend.Top = true
	top.Y.Min, top.Y.Max = 0, 1.25*max(peakOf(tr.Mains), peakOf(h.Metered))/1000 // headroom for the legend
	span := (time.Duration(len(tr.Mains)) * tr.Step).Hours()
	top.X.Min, top.X.Max = 0, span
	top.X.Tick.Marker = hourTicks(span)

	bottom = gonum.New()
	bottom.X.Label.Text = xlabel
	bottom.Y.Label.Text = "state of charge (kWh)"
	bottom.Y.Min = 0
	bottom.Add(plotter.NewGrid())
	soc := line(hours(tr.Step, len(h.SoC)), h.SoC, socColor, 1.2)
	bottom.Add(soc)
	bottom.Legend.Add("battery state of charge", soc)
	bottom.Y.Max = 1.3 * max(peakOf(h.SoC), peakOf(h.Target))
	if h.Target != nil {
		target := line(hours(tr.Step, len(h.Target)), h.Target, steerColor, 1.2)
		target.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		bottom.Add(target)
		bottom.Legend.Add("target it steers toward (one horizon ahead)", target)
	}
	bottom.Legend.Top = true
	bottom.X.Min, bottom.X.Max = 0, span
	bottom.X.Tick.Marker = hourTicks(span)
	return top, bottom
}

// Privacy writes privacy_vs_battery.png into dir from sweep rows (as
// returned by eval.Sweep) and returns its path. Each algorithm's curve shows
// the F1 of its worst attacker at each capacity.
func Privacy(dir string, rows []eval.Row) (string, error) {
	worst := eval.ByBattery(eval.Worst(rows))
	if len(worst) == 0 {
		return "", ErrNoData
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	f1 := privacyPlot("event F1 of the worst attacker", "F1 (0 = nothing detected)")
	mi := privacyPlot("mutual information I(demand; metered)", "mutual information (bits)")
	legend := gonum.New()
	legend.HideAxes()
	legend.Legend.Top, legend.Legend.Left = true, true
	f1.Y.Min, mi.Y.Min = 0, 0
	f1.Y.Max = 1
	lo, hi := capacityRange(worst)
	f1.X.Tick.Marker, mi.X.Tick.Marker = capacityTicks(worst), capacityTicks(worst)
	if kw := worst[len(worst)-1].BatteryKW; kw > 0 {
		f1.X.Label.Text = fmt.Sprintf("battery capacity (kWh), power %g kW", kw)
		mi.X.Label.Text = f1.X.Label.Text
	}
	var i int
	for _, name := range algorithms(worst) {
		var f1xy, mixy plotter.XYs
		for _, r := range worst {
			if r.Algorithm == name {
				f1xy = append(f1xy, plotter.XY{X: r.BatteryKWh, Y: r.F1})
				mixy = append(mixy, plotter.XY{X: r.BatteryKWh, Y: r.MIBits})
			}
		}
		if name == eval.None {
			// No battery: a reference level across the whole curve.
			f1xy = plotter.XYs{{X: lo, Y: f1xy[0].Y}, {X: hi, Y: f1xy[0].Y}}
			mixy = plotter.XYs{{X: lo, Y: mixy[0].Y}, {X: hi, Y: mixy[0].Y}}
			addReference(f1, f1xy, "")
			legend.Legend.Add("none (no battery)", addReference(mi, mixy, ""))
			continue
		}
		addCurve(f1, f1xy, "", i)
		legend.Legend.Add(name, addCurve(mi, mixy, "", i)...)
		i++
	}
	path := filepath.Join(dir, "privacy_vs_battery.png")
	return path, save(path, 12*vg.Inch, 5*vg.Inch, [][]*gonum.Plot{{f1, mi, legend}}, nil, []float64{0.42, 0.42, 0.16})
}

func privacyPlot(title, ylabel string) *gonum.Plot {
	p := gonum.New()
	p.Title.Text = title
	p.X.Label.Text = "battery capacity (kWh)"
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return p
}

// addCurve draws one algorithm's curve and returns its legend thumbnails.
func addCurve(p *gonum.Plot, xy plotter.XYs, _ string, i int) []gonum.Thumbnailer {
	l, s, err := plotter.NewLinePoints(xy)
	if err != nil { // only for NaN or Inf, which eval never produces
		return nil
	}
	l.Color, s.Color = plotutil.Color(i), plotutil.Color(i)
	l.Width = vg.Points(1.5)
	s.Shape = plotutil.Shape(i)
	p.Add(l, s)
	return []gonum.Thumbnailer{l, s}
}

func addReference(p *gonum.Plot, xy plotter.XYs, _ string) gonum.Thumbnailer {
	l := line(xy, nil, color.Black, 1)
	l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(l)
	return l
}

// capacityTicks marks every capacity of the sweep (rows sorted by battery)
// and labels those at least a tenth of the range from the previous label, so
// that 0.25 and 0.5 do not print over each other.
func capacityTicks(rows []eval.Row) gonum.ConstantTicks {
	lo, hi := capacityRange(rows)
	var ticks []gonum.Tick
	last := math.Inf(-1)
	for _, r := range rows {
		c := r.BatteryKWh
		if r.Algorithm == eval.None || (len(ticks) > 0 && ticks[len(ticks)-1].Value == c) {
			continue
		}
		t := gonum.Tick{Value: c}
		if c-last >= (hi-lo)/10 || c == hi {
			t.Label, last = strconv.FormatFloat(c, 'g', -1, 64), c
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// hourTicks labels every 2 hours (4 beyond a day and a quarter), with
// unlabelled minor ticks every hour.
func hourTicks(span float64) gonum.ConstantTicks {
	major := 2
	if span > 30 {
		major = 4
	}
	var ticks []gonum.Tick
	for h := 0; float64(h) <= span; h++ {
		t := gonum.Tick{Value: float64(h)}
		if h%major == 0 {
			t.Label = strconv.Itoa(h)
		}
		ticks = append(ticks, t)
	}
	return ticks
}

func peakOf(xs []float64) float64 {
	var m float64
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

func capacityRange(rows []eval.Row) (lo, hi float64) {
	first := true
	for _, r := range rows {
		if r.Algorithm == eval.None {
			continue
		}
		if first || r.BatteryKWh < lo {
			lo = r.BatteryKWh
		}
		if first || r.BatteryKWh > hi {
			hi = r.BatteryKWh
		}
		first = false
	}
	if first {
		return 0, 1
	}
	return lo, hi
}

// algorithms lists the names in rows, "none" first, the rest in the order
// they first appear.
func algorithms(rows []eval.Row) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range rows {
		if !seen[r.Algorithm] {
			seen[r.Algorithm] = true
			if r.Algorithm == eval.None {
				out = append([]string{r.Algorithm}, out...)
			} else {
				out = append(out, r.Algorithm)
			}
		}
	}
	return out
}

// line builds a solid line; ys == nil means xs already holds the points.
func line(xs any, ys []float64, c color.Color, width float64) *plotter.Line {
	var xy plotter.XYs
	switch v := xs.(type) {
	case plotter.XYs:
		xy = v
	case []float64:
		xy = make(plotter.XYs, min(len(v), len(ys)))
		for i := range xy {
			xy[i] = plotter.XY{X: v[i], Y: ys[i]}
		}
	}
	l := &plotter.Line{XYs: xy, LineStyle: draw.LineStyle{Color: c, Width: vg.Points(width)}}
	return l
}

func hours(step time.Duration, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = (time.Duration(i) * step).Hours()
	}
	return out
}

func scale(xs []float64, k float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = x * k
	}
	return out
}

// save draws rows of plots into a PNG. rowShare gives each row's share of
// the height and colShare each column's share of the width (nil for equal
// parts); the plots of a row are aligned on their axes.
func save(path string, w, h vg.Length, plots [][]*gonum.Plot, rowShare, colShare []float64) (err error) {
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(dpi))
	dc := draw.New(img)
	top := dc.Max.Y
	for r, row := range plots {
		rowH := vg.Length(share(rowShare, r, len(plots))) * (dc.Max.Y - dc.Min.Y)
		left := dc.Min.X
		for c, p := range row {
			colW := vg.Length(share(colShare, c, len(row))) * (dc.Max.X - dc.Min.X)
			cell := draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{
				Min: vg.Point{X: left + vg.Points(6), Y: top - rowH + vg.Points(6)},
				Max: vg.Point{X: left + colW - vg.Points(12), Y: top - vg.Points(6)},
			}}
			p.Draw(cell)
			left += colW
		}
		top -= rowH
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	_, err = vgimg.PngCanvas{Canvas: img}.WriteTo(f)
	return err
}

func share(shares []float64, i, n int) float64 {
	if shares == nil {
		return 1 / float64(n)
	}
	return shares[i]
}

func fileSafe(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, name)
}

package plot

import (
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/usapp/usapp/control/energy"
	"github.com/usapp/usapp/privacy/eval"
	"github.com/usapp/usapp/privacy/nilm"
	"github.com/usapp/usapp/sim/household"
)

func decode(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

// decodeFigure checks that a figure was written to want at w × h inches
// (96 dpi) and returns it decoded.
func decodeFigure(t *testing.T, path, want string, w, h int) image.Image {
	t.Helper()
	if path != want {
		t.Errorf("written to %s, want %s", path, want)
	}
	img := decode(t, path)
	if sz := img.Bounds().Size(); sz.X != w*96 || sz.Y != h*96 {
		t.Errorf("%s: %v pixels, want %dx%d", path, sz, w*96, h*96)
	}
	return img
}

// inked counts pixels close to a colour, to check that a series was drawn.
func inked(img image.Image, r0, g0, b0 uint32) int {
	var n int
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if absDiff(r>>8, r0) < 40 && absDiff(g>>8, g0) < 40 && absDiff(b>>8, b0) < 40 {
				n++
			}
		}
	}
	return n
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

func TestLoadsAndPrivacy(t *testing.T) {
	tr, err := household.UKDALE()
	if err != nil {
		t.Fatal(err)
	}
	algos := energy.Algorithms()
	b := energy.DefaultBattery()
	rep, err := eval.EvaluateReport(tr, b, algos, nilm.Attackers(), eval.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "figs")
	paths, err := Loads(dir, tr, rep.Runs)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != len(rep.Runs) {
		t.Fatalf("%d load figures for %d runs", len(paths), len(rep.Runs))
	}
	for i, p := range paths {
		img := decodeFigure(t, p, filepath.Join(dir, "load_"+rep.Runs[i].Algorithm+".png"), 11, 6)
		if inked(img, 200, 40, 40) < 200 || inked(img, 30, 90, 180) < 200 {
			t.Errorf("%s: metered (red) or state-of-charge (blue) series missing", p)
		}
		// Only usapp steers to a target, and only its figure draws one (orange).
		if target := inked(img, 230, 140, 20); (rep.Runs[i].Target != nil) != (target > 200) || (rep.Runs[i].Algorithm == "usapp") != (target > 200) {
			t.Errorf("%s: %d target (orange) pixels; want a target drawn exactly for usapp", p, target)
		}
	}

	sweep, err := eval.Sweep(tr, eval.Batteries(b, []float64{0.5, 2}), algos[:2], nilm.Attackers(), eval.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := Privacy(dir, sweep)
	if err != nil {
		t.Fatal(err)
	}
	img := decodeFigure(t, p, filepath.Join(dir, "privacy_vs_battery.png"), 12, 5)
	if inked(img, 0, 0, 0) < 500 {
		t.Errorf("%s: looks blank", p)
	}
}

func TestNothingToDraw(t *testing.T) {
	dir := t.TempDir()
	if _, err := Privacy(dir, nil); !errors.Is(err, ErrNoData) {
		t.Errorf("Privacy(nil): %v, want ErrNoData", err)
	}
	if _, err := Loads(dir, nil, nil); !errors.Is(err, ErrNoData) {
		t.Errorf("Loads(nil): %v, want ErrNoData", err)
	}
}

func TestFileSafe(t *testing.T) {
	if got := fileSafe("../best effort/x"); got != "___best_effort_x" {
		t.Fatalf("fileSafe = %q", got)
	}
}

func TestTradeOff(t *testing.T) {
	tr, _, err := eval.Builtin(eval.SourceSynthetic, 3)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := eval.Evaluate(tr, energy.DefaultBattery(), energy.Algorithms(), nilm.Attackers()[:1], eval.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := eval.Reference(tr, 0.9, []int{1, 2, 4}, eval.DefaultMIBins)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p, err := TradeOff(dir, rows, ref, eval.DesignTarget)
	if err != nil {
		t.Fatal(err)
	}
	img := decodeFigure(t, p, filepath.Join(dir, "tradeoff.png"), 8, 6)
	bare, err := TradeOff(t.TempDir(), rows, ref, eval.Target{})
	if err != nil {
		t.Fatal(err)
	}
	// The region covers a good part of the axes; its colour is close to
	// other light inks, so compare with the same figure drawn without it.
	if shaded, plain := inked(img, 200, 235, 200), inked(decode(t, bare), 200, 235, 200); shaded-plain < 20000 {
		t.Errorf("target region not shaded: %d target-coloured pixels with it, %d without", shaded, plain)
	}
	if _, err := TradeOff(dir, nil, nil, eval.Target{}); !errors.Is(err, ErrNoData) {
		t.Errorf("nothing to draw: %v, want ErrNoData", err)
	}
	// Floors (eval.AddFloors) add a whisker under each algorithm: here a
	// floor of 0 bits, so every whisker runs to the axis.
	floored := append([]eval.Row(nil), rows...)
	zero := 0.0
	for i := range floored {
		floored[i].MIFloorBits = &zero
	}
	fp, err := TradeOff(t.TempDir(), floored, ref, eval.DesignTarget)
	if err != nil {
		t.Fatal(err)
	}
	if n := differing(img, decode(t, fp)); n < 300 {
		t.Errorf("floors changed only %d pixels", n)
	}
}

// differing counts the pixels where a and b differ.
func differing(a, b image.Image) int {
	var n int
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			if a.At(x, y) != b.At(x, y) {
				n++
			}
		}
	}
	return n
}

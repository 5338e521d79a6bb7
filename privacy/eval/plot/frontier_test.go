package plot

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/usapp/usapp/privacy/eval"
)

func TestFrontier(t *testing.T) {
	means := []eval.SettingMeans{
		{Family: "usapp", Label: "a", ExtraEnergyPct: 2.6, MIBits: 0.47},
		{Family: "usapp", Label: "b", ExtraEnergyPct: 3.8, MIBits: 0.33},
		{Family: "usapp", Label: "c", ExtraEnergyPct: 3.9, MIBits: 0.40},
		{Family: "stepping", Label: "a", ExtraEnergyPct: 4.0, MIBits: 0.40},
		{Family: "stepping", Label: "b", ExtraEnergyPct: 5.1, MIBits: 0.42},
	}
	dir := t.TempDir()
	p, err := Frontier(dir, means, 21, eval.DesignTarget)
	if err != nil {
		t.Fatal(err)
	}
	img := decodeFigure(t, p, filepath.Join(dir, "frontier.png"), 8, 6)
	// A family's line joins its frontier: moving a dominated setting onto
	// the frontier redraws the line and a large mark, moving it to another
	// dominated place only a small mark.
	moveTo := func(mi float64) int {
		moved := append([]eval.SettingMeans(nil), means...)
		moved[2].MIBits = mi
		mp, err := Frontier(t.TempDir(), moved, 21, eval.DesignTarget)
		if err != nil {
			t.Fatal(err)
		}
		return differing(img, decode(t, mp))
	}
	if onto, within := moveTo(0.2), moveTo(0.45); onto < 3*within {
		t.Errorf("onto the frontier changed %d pixels, within the dominated region %d", onto, within)
	}
	bare, err := Frontier(t.TempDir(), means, 21, eval.Target{})
	if err != nil {
		t.Fatal(err)
	}
	if shaded, plain := inked(img, 200, 235, 200), inked(decode(t, bare), 200, 235, 200); shaded-plain < 20000 {
		t.Errorf("target region not shaded: %d target-coloured pixels with it, %d without", shaded, plain)
	}
	if _, err := Frontier(dir, nil, 0, eval.Target{}); !errors.Is(err, ErrNoData) {
		t.Errorf("nothing to draw: %v, want ErrNoData", err)
	}
}

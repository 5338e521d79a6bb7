package eval

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/usapp/usapp/sim/household"
)

// blocks is a trace of flat blocks: each value held for n samples.
func blocks(n int, values ...float64) *household.Trace {
	tr := &household.Trace{Name: "blocks", Start: time.Unix(0, 0), Step: time.Minute}
	for _, v := range values {
		for range n {
			tr.Mains = append(tr.Mains, v)
		}
	}
	return tr
}

func TestReferenceOnKnownBlocks(t *testing.T) {
	// 200 W then 1000 W, equal halves. One level (600 W) serves 400 W for
	// half the day: (1/0.9 − 1)·(400·n/2)/(600·n) = 3.70 %, and a constant
	// tells nothing. Two levels are the demand itself: no losses, and
	// I(p; p) = H(p) = 1 bit.
	pts, err := Reference(blocks(30, 200, 1000), 0.9, []int{1, 2, 3}, 32)
	if err != nil {
		t.Fatal(err)
	}
	want := []ReferencePoint{{1, 0, 100 * (1/0.9 - 1) / 3}, {2, 1, 0}, {3, 1, 0}}
	for i, w := range want {
		g := pts[i]
		if g.Holds != w.Holds || math.Abs(g.MIBits-w.MIBits) > 1e-9 || math.Abs(g.ExtraEnergyPct-w.ExtraEnergyPct) > 1e-9 {
			t.Errorf("holds %d: got %+v, want %+v", w.Holds, g, w)
		}
	}
}

func TestReferenceFindsTheBestCuts(t *testing.T) {
	// Three blocks of different lengths: two pieces must cut where the
	// squared error is least (between the 100 W block and the rest, since
	// 900 and 1000 are close), which a fixed-width split would miss.
	tr := blocks(1, 0) // replaced below
	tr.Mains = nil
	for i := range 50 {
		switch {
		case i < 10:
			tr.Mains = append(tr.Mains, 100)
		case i < 30:
			tr.Mains = append(tr.Mains, 900)
		default:
			tr.Mains = append(tr.Mains, 1000)
		}
	}
	seg := newSegmenter(tr.Mains, 3)
	two := seg.levels(2)
	if two[9] != 100 || math.Abs(two[10]-(20*900+20*1000)/40.0) > 1e-9 {
		t.Errorf("two pieces cut in the wrong place: %v", two)
	}
	three := seg.levels(3)
	for i, v := range tr.Mains {
		if three[i] != v {
			t.Fatalf("three pieces should reproduce the demand; step %d: %g vs %g", i, three[i], v)
		}
	}
}

func TestReferenceRejectsBadInput(t *testing.T) {
	ok := blocks(10, 100, 300)
	long := blocks(MaxReferenceSamples+1, 100)
	for _, c := range []struct {
		name  string
		tr    *household.Trace
		eff   float64
		holds []int
		bins  int
		want  error
	}{
		{"no trace", nil, 0.9, []int{1}, 32, ErrTrace},
		{"efficiency 0", ok, 0, []int{1}, 32, ErrOptions},
		{"efficiency 1.1", ok, 1.1, []int{1}, 32, ErrOptions},
		{"one bin", ok, 0.9, []int{1}, 1, ErrOptions},
		{"zero holds", ok, 0.9, []int{0}, 32, ErrOptions},
		{"more holds than samples", ok, 0.9, []int{21}, 32, ErrOptions},
		{"too long", long, 0.9, []int{1}, 32, ErrOptions},
	} {
		if _, err := Reference(c.tr, c.eff, c.holds, c.bins); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

// More pieces can only fit better: the losses of the reference never grow
// with K on a real day (least squares and the served energy move together
// here, which is what makes the curve a trade-off).
func TestReferenceOnUKDALE(t *testing.T) {
	tr, err := household.UKDALE()
	if err != nil {
		t.Fatal(err)
	}
	pts, err := Reference(tr, 0.9, ReferenceHolds, DefaultMIBins)
	if err != nil {
		t.Fatal(err)
	}
	if pts[0].MIBits != 0 {
		t.Errorf("one flat level must leak nothing, got %g bits", pts[0].MIBits)
	}
	last := pts[len(pts)-1]
	if !(last.ExtraEnergyPct < pts[0].ExtraEnergyPct) || !(last.MIBits > pts[0].MIBits) {
		t.Errorf("a level per hour should cost less and leak more than one level: %+v", pts)
	}
}

func BenchmarkReferenceUKDALE(b *testing.B) {
	tr, err := household.UKDALE()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Reference(tr, 0.9, ReferenceHolds, DefaultMIBins); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/day")
}

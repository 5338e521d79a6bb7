package energy

import (
	"math"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// The sliding median equals the median of the last k values, recomputed
// from scratch, after every push.
func TestSlidingMedianProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		k := rapid.IntRange(1, 40).Draw(t, "k")
		xs := rapid.SliceOfN(rapid.Float64Range(0, 5000), 1, 200).Draw(t, "xs")
		m := newSlidingMedian(k)
		for i, x := range xs {
			m.push(x)
			want := medianOf(xs[max(0, i-k+1) : i+1])
			if got := m.median(); got != want {
				t.Fatalf("after %d pushes (k=%d): median %v, want %v", i+1, k, got, want)
			}
		}
	})
}

// medianOf is the median recomputed from scratch.
func medianOf(xs []float64) float64 {
	w := slices.Clone(xs)
	slices.Sort(w)
	if len(w)%2 == 0 {
		return (w[len(w)/2-1] + w[len(w)/2]) / 2
	}
	return w[len(w)/2]
}

// The settled median equals, after every push, the median of the current
// run (the values since demand last stepped by more than stepW, at most the
// last k) once that run has lasted settle values (k if settle is longer),
// and otherwise what it was before the push (the first value to begin
// with).
func TestSettledMedianProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		k := rapid.IntRange(1, 30).Draw(t, "k")
		settle := rapid.IntRange(1, 10).Draw(t, "settle")
		stepW := rapid.Float64Range(0, 1000).Draw(t, "stepW")
		xs := rapid.SliceOfN(rapid.SampledFrom([]float64{100, 150, 300, 900, 2100, 2600}), 1, 200).Draw(t, "xs")
		m := newSettledMedian(k, settle, stepW, xs[0])
		want, start := xs[0], 0
		for i, x := range xs {
			if i > 0 && math.Abs(x-xs[i-1]) > stepW {
				start = i
			}
			if i-start+1 >= min(settle, k) {
				want = medianOf(xs[max(start, i-k+1) : i+1])
			}
			if got := m.push(x); got != want {
				t.Fatalf("push %d (k=%d settle=%d stepW=%.0f): estimate %v, want %v", i, k, settle, stepW, got, want)
			}
		}
	})
}

// The level grid has the lowest estimate seen as a level, then levels at
// standby + quantum·k^power, and rounds to the nearest of them in k, never
// below standby; with power 1 that is the nearest level in watts.
func TestLevelGridProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		q := rapid.Float64Range(50, 500).Draw(t, "quantum")
		p := rapid.Float64Range(1, 3).Draw(t, "power")
		g := levelGrid{quantum: q, power: p, base: math.Inf(1)}
		for _, e := range rapid.SliceOfN(rapid.Float64Range(0, 3000), 1, 20).Draw(t, "estimates") {
			g.see(e)
		}
		if got := g.nearest(g.base); math.Abs(got-g.base) > 1e-9 {
			t.Fatalf("standby %v is not a level: nearest %v", g.base, got)
		}
		w := rapid.Float64Range(0, 6000).Draw(t, "w")
		got := g.nearest(w)
		k := math.Pow((got-g.base)/q, 1/p)
		if got < g.base || math.Abs(k-math.Round(k)) > 1e-6 {
			t.Fatalf("level %v is not standby %v plus quantum %v times a whole k^%v", got, g.base, q, p)
		}
		if kw := math.Pow(math.Max(0, w-g.base)/q, 1/p); math.Abs(kw-k) > 0.5+1e-9 {
			t.Fatalf("nearest(%v) = %v is %v steps away (quantum %v, power %v, standby %v)", w, got, math.Abs(kw-k), q, p, g.base)
		}
		if p == 1 && w >= g.base && math.Abs(got-w) > q/2+1e-9 {
			t.Fatalf("even grid: nearest(%v) = %v, more than half a quantum %v away", w, got, q)
		}
	})
}

func TestSlidingMedianKnown(t *testing.T) {
	m := newSlidingMedian(3)
	if m.median() != 0 {
		t.Fatalf("empty median %v, want 0", m.median())
	}
	for i, c := range []struct{ push, want float64 }{
		{100, 100}, {3000, 1550}, {100, 100}, {100, 100}, {3000, 100}, {3000, 3000},
	} {
		m.push(c.push)
		if got := m.median(); got != c.want {
			t.Errorf("push %d (%v): median %v, want %v", i, c.push, got, c.want)
		}
	}
}

// The shape is amp exactly where the first price after t that differs from
// t's, within the lookahead, is higher, found by scanning from scratch.
func TestPriceShapeProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		k := rapid.IntRange(1, 30).Draw(t, "lookahead hours")
		xs := rapid.SliceOfN(rapid.SampledFrom([]float64{0.14, 0.28, 0.42, 0.2}), 1, 150).Draw(t, "prices")
		step := priceLookahead / time.Duration(k)
		lookahead := steps(priceLookahead, step)
		ps := newPriceShape(xs, step, 1)
		for i := range xs {
			want := 0.0
			for j := i + 1; j < len(xs) && j-i <= lookahead; j++ {
				if xs[j] != xs[i] {
					if xs[j] > xs[i] {
						want = 1
					}
					break
				}
			}
			if got := ps.at(i); got != want {
				t.Fatalf("lookahead %d steps, step %d: offset %v, want %v (prices %v)", lookahead, i, got, want, xs)
			}
		}
	})
}

// On a night / day / peak / day schedule the shape fills the battery in the
// night and in the day before the peak, and asks for nothing extra in the
// peak and after it, where no dearer price is ahead.
func TestPriceShapeSigns(t *testing.T) {
	var prices []float64
	for _, band := range []struct {
		price float64
		hours int
	}{{0.14, 7}, {0.28, 9}, {0.42, 3}, {0.28, 5}} {
		for range band.hours {
			prices = append(prices, band.price)
		}
	}
	ps := newPriceShape(prices, time.Hour, 1)
	for _, c := range []struct {
		hour int
		want float64
	}{{0, 1}, {6, 1}, {10, 1}, {15, 1}, {16, 0}, {18, 0}, {20, 0}, {23, 0}} {
		if got := ps.at(c.hour); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("hour %d (price %v): offset %v, want %v", c.hour, prices[c.hour], got, c.want)
		}
	}
	if (priceShape{}).at(3) != 0 {
		t.Error("no prices must mean no offset")
	}
}

// The spread of a 2 kW, 60-minute load on 1-minute steps: the swing limit
// (320 Wh) binds before the cover limit (a <= 30), giving
// a = 320·60/(2000 − 640) ≈ 14 minutes and h = 120 kW·min / 88 min. The
// shift moves no energy over the day, and the plan's stored energy peaks
// at h·a, within the swing.
func TestPlannedShiftConservesEnergy(t *testing.T) {
	n := 24 * 60
	r := Run{Demand: make([]float64, n), Step: time.Minute,
		Planned: []PlannedLoad{{From: 720, Power: slices.Repeat([]float64{2000}, 60)}}}
	shift, stored := plannedShift(r, 0.32, 0.5)
	h := 120000.0 / 88
	for t0, want := range map[int]float64{705: 0, 706: h, 719: h, 720: h - 2000, 779: h - 2000, 780: h, 793: h, 794: 0} {
		if math.Abs(shift[t0]-want) > 1e-9 {
			t.Errorf("shift[%d] = %.1f W, want %.1f", t0, shift[t0], want)
		}
	}
	if end := stored[n-1]; math.Abs(end) > 1e-9 {
		t.Errorf("the plan ends the day with %.3g kWh moved, want 0", end)
	}
	if peak, want := slices.Max(stored), h*14/60/1000; math.Abs(peak-want) > 1e-9 || peak > 0.32 {
		t.Errorf("the plan stores at most %.4f kWh, want h·a = %.4f within the 0.32 kWh swing", peak, want)
	}
}

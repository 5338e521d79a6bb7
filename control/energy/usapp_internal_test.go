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
			w := slices.Clone(xs[max(0, i-k+1) : i+1])
			slices.Sort(w)
			want := w[len(w)/2]
			if len(w)%2 == 0 {
				want = (w[len(w)/2-1] + w[len(w)/2]) / 2
			}
			if got := m.median(); got != want {
				t.Fatalf("after %d pushes (k=%d): median %v, want %v", i+1, k, got, want)
			}
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

// rangeAhead equals the minimum and maximum over [t, t+k] recomputed from
// scratch at every step.
func TestRangeAheadProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		k := rapid.IntRange(0, 30).Draw(t, "k")
		xs := rapid.SliceOfN(rapid.SampledFrom([]float64{0.14, 0.28, 0.42, 0.2}), 1, 150).Draw(t, "xs")
		lo, hi := rangeAhead(xs, k)
		for i := range xs {
			w := xs[i:min(len(xs), i+k+1)]
			if lo[i] != slices.Min(w) || hi[i] != slices.Max(w) {
				t.Fatalf("k=%d step %d: range [%v, %v], want [%v, %v]", k, i, lo[i], hi[i], slices.Min(w), slices.Max(w))
			}
		}
	})
}

// On a night / day / peak / day schedule the shape fills the battery in the
// night and the day before the peak, empties it in the peak and after it
// (no dearer price is left ahead), and is zero where no price ahead differs.
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
	}{{0, 1}, {6, 1}, {10, 1}, {15, 1}, {16, -1}, {18, -1}, {20, 0}, {23, 0}} {
		if got := ps.at(c.hour); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("hour %d (price %v): offset %v, want %v", c.hour, prices[c.hour], got, c.want)
		}
	}
	if (priceShape{}).at(3) != 0 {
		t.Error("no prices must mean no offset")
	}
}

package metrics

import "math"

// MutualInformation is I(x; y) in bits, the plug-in estimate from a joint
// histogram.
//
// Binning: each series is cut into bins equal-width bins spanning its own
// range [min, max]; value v falls in bin ⌊bins·(v−min)/(max−min)⌋, with max
// itself in the last bin. A constant series falls in one bin and so has zero
// entropy and MI 0. The estimate is Σ p(a,b)·log2(p(a,b)/(p(a)·p(b))) over
// the occupied cells; it is never negative and at most log2(bins). Like every
// plug-in estimate it is biased upwards on short series (about
// (bins−1)²/(2N·ln 2) bits for independent series of N samples), so compare
// figures computed with the same bins and length.
//
// Empty series give 0; series of different lengths or bins < 1 give NaN.
func MutualInformation(x, y []float64, bins int) float64 {
	if len(x) != len(y) || bins < 1 {
		return math.NaN()
	}
	n := len(x)
	if n == 0 {
		return 0
	}
	return miOfLabels(Bins(x, bins), Bins(y, bins), bins, bins)
}

// MutualInformationWidth is I(x; y) in bits, plug-in as [MutualInformation],
// but both series share fixed bins of width watts starting at 0: value v falls
// in bin ⌊v/width⌋, whatever either series' range. One sample far above the
// rest cannot then widen every other bin, which binning over a series' own
// range allows (a hider that passes one spike through makes its own level
// changes finer than the bins). Values must be finite and not negative, as
// power traces are; others, an empty series or width ≤ 0 give NaN, and so do
// series of different lengths or more than maxWidthBins bins.
func MutualInformationWidth(x, y []float64, width float64) float64 {
	if len(x) != len(y) || !(width > 0) || math.IsInf(width, 1) || len(x) == 0 {
		return math.NaN()
	}
	bx, nx := fixedBins(x, width)
	by, ny := fixedBins(y, width)
	if bx == nil || by == nil {
		return math.NaN()
	}
	return miOfLabels(bx, by, nx, ny)
}

// maxWidthBins bounds the bins of [MutualInformationWidth] so that a tiny
// width on a large value cannot exhaust memory: a 1 W bin up to 100 kW.
const maxWidthBins = 100_000

// fixedBins is ⌊v/width⌋ for every v and one more than the largest, or nil
// for a value that is negative, not finite or past maxWidthBins.
func fixedBins(x []float64, width float64) ([]int, int) {
	idx := make([]int, len(x))
	n := 0
	for i, v := range x {
		f := math.Floor(v / width)
		if !(f >= 0) || f >= maxWidthBins {
			return nil, 0
		}
		idx[i] = int(f)
		n = max(n, idx[i]+1)
	}
	return idx, n
}

// miOfLabels is the plug-in I(a; b) in bits of two label series, labels of a
// in [0, na) and of b in [0, nb), from their joint counts over the occupied
// cells: a dense table when it is small (32 × 32 bins is the common case), a map of
// the occupied cells otherwise.
func miOfLabels(a, b []int, na, nb int) float64 {
	pa, pb := make([]int, na), make([]int, nb)
	for i := range a {
		pa[a[i]]++
		pb[b[i]]++
	}
	fn := float64(len(a))
	var mi float64
	cell := func(i, j, c int) {
		// p(i,j)/(p(i)p(j)) = c·n/(pa·pb)
		mi += float64(c) / fn * math.Log2(float64(c)*fn/(float64(pa[i])*float64(pb[j])))
	}
	if na*nb <= denseCells {
		joint := make([]int, na*nb)
		for i := range a {
			joint[a[i]*nb+b[i]]++
		}
		for k, c := range joint {
			if c > 0 {
				cell(k/nb, k%nb, c)
			}
		}
	} else {
		joint := map[[2]int]int{}
		for i := range a {
			joint[[2]int{a[i], b[i]}]++
		}
		for k, c := range joint {
			cell(k[0], k[1], c)
		}
	}
	return math.Max(mi, 0) // rounding can leave -1e-17 for independent series
}

// denseCells is the largest joint table miOfLabels allocates densely.
const denseCells = 1 << 16

// Entropy is H(x) in bits of x binned as in [MutualInformation]; it equals
// MutualInformation(x, x, bins).
func Entropy(x []float64, bins int) float64 {
	if bins < 1 {
		return math.NaN()
	}
	if len(x) == 0 {
		return 0
	}
	counts := make([]int, bins)
	for _, b := range Bins(x, bins) {
		counts[b]++
	}
	var h float64
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / float64(len(x))
			h -= p * math.Log2(p)
		}
	}
	return h
}

// Bins maps each value of x to its bin in [0, bins) as [MutualInformation]
// bins it: equal-width bins over the series' own range, the maximum in the
// last bin; a constant series is all bin 0. Non-finite values (which a trace
// should never hold) go to bin 0 rather than indexing out of range.
func Bins(x []float64, bins int) []int {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range x {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	idx := make([]int, len(x))
	width := hi - lo
	if !(width > 0) || math.IsInf(width, 0) {
		return idx
	}
	for i, v := range x {
		b := int(float64(bins) * (v - lo) / width)
		if b >= bins {
			b = bins - 1
		}
		if b < 0 {
			b = 0
		}
		idx[i] = b
	}
	return idx
}

// Pearson is the correlation coefficient of x and y, in [−1, 1]. It is 0 when
// either series is constant (or empty): a constant metered load carries no
// linear information about demand. Series of different lengths give NaN.
func Pearson(x, y []float64) float64 {
	if len(x) != len(y) {
		return math.NaN()
	}
	n := float64(len(x))
	if n == 0 {
		return 0
	}
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx, my = mx/n, my/n
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return 0
	}
	r := sxy / math.Sqrt(sxx*syy)
	return math.Max(-1, math.Min(1, r))
}

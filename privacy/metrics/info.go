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
	bx, by := Bins(x, bins), Bins(y, bins)
	joint := make([]int, bins*bins)
	px, py := make([]int, bins), make([]int, bins)
	for i := range n {
		joint[bx[i]*bins+by[i]]++
		px[bx[i]]++
		py[by[i]]++
	}
	fn := float64(n)
	var mi float64
	for a := range bins {
		for b := range bins {
			c := joint[a*bins+b]
			if c == 0 {
				continue
			}
			// p(a,b)/(p(a)p(b)) = c·n/(px·py)
			mi += float64(c) / fn * math.Log2(float64(c)*fn/(float64(px[a])*float64(py[b])))
		}
	}
	return math.Max(mi, 0) // rounding can leave -1e-17 for independent series
}

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

package eval

import (
	"fmt"
	"math"

	"github.com/usapp/usapp/privacy/metrics"
	"github.com/usapp/usapp/sim/household"
)

// ReferenceHolds is the default list of hold counts for [Reference]: from one
// flat level all day to a level every hour.
var ReferenceHolds = []int{1, 2, 3, 4, 6, 8, 12, 24}

// MaxReferenceSamples bounds [Reference]: its dynamic programme costs
// O(K·n²) time, 40 ms for the 720-sample UK-DALE day with K up to 24 (go
// test ./privacy/eval -bench Reference), so about 0.6 s at this bound: two
// days of one-minute samples, enough for the 37-hour UCI excerpt.
const MaxReferenceSamples = 2 * 1440

// ReferencePoint is one point of the non-causal reference trade-off: what a
// hider that holds the metered load at Holds flat levels would leak and
// spend.
type ReferencePoint struct {
	Holds          int     `json:"holds"`
	MIBits         float64 `json:"mi_bits"`
	ExtraEnergyPct float64 `json:"extra_energy_pct"`
}

// Reference is a yardstick for the privacy–energy trade-off of every hider
// (issue 3 asks for both I(p; p_i) ≤ 0.5 bits and at most 3 % extra energy).
// For each K in holds it takes the piecewise-constant series with K pieces
// closest to the demand in least squares (optimal partitioning by dynamic
// programming; Bellman, "On the approximation of curves by line segments
// using dynamic programming", CACM 1961) as the metered load, and reports
//
//   - MIBits: I(demand; levels) binned exactly as the rows' mi_bits;
//   - ExtraEnergyPct: 100·(1/η − 1)·Σ(p − level)⁺ / Σp, the conversion losses
//     of a battery with round-trip efficiency η that serves every watt above
//     the level and is recharged from the watts below it (to first order in
//     1/η − 1, since each level is its piece's mean rather than the slightly
//     higher level that would also pay the losses back).
//
// The reference knows the whole day in advance and has unlimited capacity
// and power, so no causal hider with a real battery does better along the
// same family of schedules; it is a reference, not a proof of optimality
// over every schedule (least squares is not the privacy-optimal cut). Where
// no K has both figures inside a goal, that goal is out of reach of
// flat-level hiding on that trace.
func Reference(tr *household.Trace, efficiency float64, holds []int, bins int) ([]ReferencePoint, error) {
	if err := checkTrace(tr); err != nil {
		return nil, err
	}
	p := tr.Mains
	switch {
	case len(p) > MaxReferenceSamples:
		return nil, fmt.Errorf("%w: the reference takes at most %d samples, the trace has %d", ErrTooLong, MaxReferenceSamples, len(p))
	case !(efficiency > 0 && efficiency <= 1):
		return nil, fmt.Errorf("%w: round-trip efficiency must lie in (0, 1]", ErrOptions)
	case bins < 2:
		return nil, fmt.Errorf("%w: at least two mutual-information bins", ErrOptions)
	}
	kmax := 0
	for _, k := range holds {
		if k < 1 || k > len(p) {
			return nil, fmt.Errorf("%w: hold count %d outside [1, %d]", ErrOptions, k, len(p))
		}
		kmax = max(kmax, k)
	}
	seg := newSegmenter(p, kmax)
	out := make([]ReferencePoint, 0, len(holds))
	for _, k := range holds {
		levels := seg.levels(k)
		out = append(out, ReferencePoint{
			Holds:          k,
			MIBits:         metrics.MutualInformation(p, levels, bins),
			ExtraEnergyPct: servedLossPct(p, levels, efficiency),
		})
	}
	return out, nil
}

// servedLossPct is the first-order extra energy (%) of metering levels
// instead of demand p with a battery of round-trip efficiency η:
// 100·(1/η − 1)·Σ(p − level)⁺ / Σp, the losses on every watt the battery
// serves; 0 for a demand with no energy.
func servedLossPct(p, levels []float64, efficiency float64) float64 {
	var served, energy float64
	for t, w := range p {
		served += math.Max(0, w-levels[t])
		energy += w
	}
	if energy == 0 {
		return 0
	}
	return 100 * (1/efficiency - 1) * served / energy
}

// segmenter holds the optimal-partitioning tables for up to kmax pieces:
// cost[k][j] is the least squared error of x[0:j] in k pieces and cut[k][j]
// where its last piece starts.
type segmenter struct {
	sum, sum2 []float64 // prefix sums of x and x²
	cost      [][]float64
	cut       [][]int
}

func newSegmenter(x []float64, kmax int) *segmenter {
	n := len(x)
	s := &segmenter{sum: make([]float64, n+1), sum2: make([]float64, n+1)}
	for i, v := range x {
		s.sum[i+1], s.sum2[i+1] = s.sum[i]+v, s.sum2[i]+v*v
	}
	s.cost, s.cut = make([][]float64, kmax+1), make([][]int, kmax+1)
	for k := range s.cost {
		s.cost[k], s.cut[k] = make([]float64, n+1), make([]int, n+1)
		for j := range s.cost[k] {
			s.cost[k][j] = math.Inf(1)
		}
	}
	s.cost[0][0] = 0
	for k := 1; k <= kmax; k++ {
		for j := k; j <= n; j++ {
			for i := k - 1; i < j; i++ {
				if c := s.cost[k-1][i] + s.sse(i, j); c < s.cost[k][j] {
					s.cost[k][j], s.cut[k][j] = c, i
				}
			}
		}
	}
	return s
}

// sse is the squared error of x[i:j] about its mean.
func (s *segmenter) sse(i, j int) float64 {
	m, sum := float64(j-i), s.sum[j]-s.sum[i]
	return math.Max(0, s.sum2[j]-s.sum2[i]-sum*sum/m)
}

// levels is the best k-piece series: each piece at its mean.
func (s *segmenter) levels(k int) []float64 {
	n := len(s.sum) - 1
	out := make([]float64, n)
	for j := n; k > 0; k-- {
		i := s.cut[k][j]
		mean := (s.sum[j] - s.sum[i]) / float64(j-i)
		for t := i; t < j; t++ {
			out[t] = mean
		}
		j = i
	}
	return out
}

package nilm

import (
	"math"
	"time"
)

// Hart is the steady-state event detector of G. W. Hart, "Nonintrusive
// appliance load monitoring", Proc. IEEE 80(12), 1992.
//
// The trace is cut into steady periods: a sample joins the current period
// while it stays within Tolerance of the period's running mean, otherwise it
// starts a new one. Periods shorter than MinSteady are transitions and are
// dropped. Between two consecutive steady periods the signed difference of
// their means is an event when its magnitude exceeds NoiseFloor; the event's
// index is the first sample after the earlier period, where the change began.
//
// At the 1-2 minute resolution of the UK-DALE and UCI data a kettle is on for
// one or two samples, so MinSteady defaults to a single sample there: a longer
// minimum would hide exactly the short, loud appliances an attacker wants.
type Hart struct {
	NoiseFloor float64       // W; smallest |step| reported as an event
	Tolerance  float64       // W; largest deviation from a steady period's running mean
	MinSteady  time.Duration // shortest steady period, rounded up to whole samples (at least one)
}

// DefaultHart returns the detector with the thresholds tuned on the unhidden
// UK-DALE day: a [DefaultNoiseFloor] (40 W) noise floor, a 10 W steadiness tolerance and a 2-minute
// minimum steady period.
func DefaultHart() Hart {
	return Hart{NoiseFloor: DefaultNoiseFloor, Tolerance: 10, MinSteady: 2 * time.Minute}
}

// Name is "hart".
func (Hart) Name() string { return "hart" }

// Detect returns the signed steps between steady periods of metered.
func (h Hart) Detect(metered []float64, step time.Duration) []Event {
	periods := steadyPeriods(metered, h.Tolerance, samples(h.MinSteady, step))
	var events []Event
	for k := 1; k < len(periods); k++ {
		d := periods[k].mean - periods[k-1].mean
		if math.Abs(d) > h.NoiseFloor {
			events = append(events, Event{Index: periods[k-1].end, Delta: d})
		}
	}
	return events
}

// period is the steady stretch [start, end) with its mean power.
type period struct {
	start, end int
	mean       float64
}

// steadyPeriods segments x into periods of at least minLen samples whose
// members all lay within tol of the running mean when they joined.
func steadyPeriods(x []float64, tol float64, minLen int) []period {
	var out []period
	keep := func(p period, sum float64) {
		if p.end-p.start >= minLen {
			p.mean = sum / float64(p.end-p.start)
			out = append(out, p)
		}
	}
	if len(x) == 0 {
		return nil
	}
	cur, sum := period{start: 0, end: 1}, x[0]
	for i := 1; i < len(x); i++ {
		mean := sum / float64(i-cur.start)
		if math.Abs(x[i]-mean) <= tol {
			sum += x[i]
			cur.end = i + 1
			continue
		}
		keep(cur, sum)
		cur, sum = period{start: i, end: i + 1}, x[i]
	}
	keep(cur, sum)
	return out
}

// DefaultNoiseFloor (W) is the default attackers' smallest reported step and
// the threshold to use for the ground truth they are scored against, so that
// an attacker is not asked for steps it was told to ignore. 40 W keeps the
// fridge's compressor cycles (about 90 W) and drops the sub-20 W wobble of
// electronics.
const DefaultNoiseFloor = 40.0

package nilm

import (
	"math"
	"sort"
	"time"
)

// Adaptive is an attacker that knows the meter is behind a load-hiding
// battery and attacks the hider rather than the appliances.
//
// A battery hider flattens the metered load; it leaks when it cannot keep a
// level. Yang, Li, Xue and Zhang, "Minimizing private data disclosure in the
// smart grid", ACM CCS 2012, showed that best-effort (Kalogridis et al. 2010)
// and NILL (McLaughlin et al. 2011) leak exactly at the moments the metered
// load leaves a held level, and that the direction of the break tells the
// sign of the demand change. Adaptive therefore reports the union of:
//
//  1. Level breaks: once the metered load has stayed within Epsilon of a
//     level for MinHeld samples, the first sample that leaves it is an event
//     with the sign of the change, provided the change exceeds MinBreak.
//     MinBreak is far below Hart's noise floor: a hider only lets a held
//     level go when demand forced it, so even a small break is informative.
//  2. Followed demand: when a battery saturates (power limit, empty or full)
//     the metered load is demand minus a slowly changing offset, so its
//     high-frequency part is the demand's. Those steps are found with the
//     [Hart] detector, whose noise floor the attacker raises to NoiseK robust
//     standard deviations of the trace's first differences. Raising it is how
//     an adversary who knows noise is being injected (noise-shaped hiding in
//     the spirit of Zhao et al. 2014) stops counting the noise as events; on
//     a real, unhidden trace most differences are tiny and the floor stays at
//     Hart's.
//
// Where both rules fire at one index the Hart event is kept. On an unhidden
// trace (which rarely holds a level to within Epsilon) Adaptive behaves like
// Hart.
type Adaptive struct {
	Epsilon  float64 // W; a level is held while the load stays within Epsilon of it
	MinHeld  int     // samples a level must be held before leaving it counts
	MinBreak float64 // W; smallest departure from a held level reported
	NoiseK   float64 // noise floor = max(Hart.NoiseFloor, NoiseK·σ̂ of first differences); 0 disables
	Hart     Hart    // detector for the followed demand
}

// DefaultAdaptive returns the attacker with a level held to within 0.5 W for
// 3 samples, a 10 W smallest break, a 3σ noise floor and the default Hart
// detector. Two-minute means of a real quiet house drift by a watt or two
// (the UK-DALE night), which is why a break must exceed 10 W: smaller
// departures are the house breathing, not a hider letting go.
func DefaultAdaptive() Adaptive {
	return Adaptive{Epsilon: 0.5, MinHeld: 3, MinBreak: 10, NoiseK: 3, Hart: DefaultHart()}
}

// Name is "adaptive".
func (Adaptive) Name() string { return "adaptive" }

// Detect returns level breaks merged with the steps of the followed demand.
func (a Adaptive) Detect(metered []float64, step time.Duration) []Event {
	h := a.Hart
	if sigma := diffSigma(metered); a.NoiseK > 0 && a.NoiseK*sigma > h.NoiseFloor {
		h.NoiseFloor = a.NoiseK * sigma
	}
	byIndex := map[int]Event{}
	for _, e := range levelBreaks(metered, a.Epsilon, a.MinBreak, a.MinHeld) {
		byIndex[e.Index] = e
	}
	for _, e := range h.Detect(metered, step) {
		byIndex[e.Index] = e
	}
	events := make([]Event, 0, len(byIndex))
	for _, e := range byIndex {
		events = append(events, e)
	}
	sort.Slice(events, func(i, j int) bool { return events[i].Index < events[j].Index })
	return events
}

// levelBreaks reports each sample that leaves, by more than eps, a level held
// for at least minHeld samples. The level is the run's first sample, so a
// slow ramp does not pass for a held level.
func levelBreaks(x []float64, eps, minBreak float64, minHeld int) []Event {
	if minHeld < 1 {
		minHeld = 1
	}
	var events []Event
	start := 0
	for i := 1; i < len(x); i++ {
		if math.Abs(x[i]-x[start]) <= eps {
			continue
		}
		if d := x[i] - x[i-1]; i-start >= minHeld && math.Abs(d) > minBreak {
			events = append(events, Event{Index: i, Delta: d})
		}
		start = i
	}
	return events
}

// diffSigma is a robust estimate of the noise standard deviation of x from
// the median absolute first difference (1.4826·MAD, divided by √2 because a
// difference carries two samples' noise). Non-finite differences are ignored.
func diffSigma(x []float64) float64 {
	d := make([]float64, 0, len(x))
	for i := 1; i < len(x); i++ {
		v := math.Abs(x[i] - x[i-1])
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			d = append(d, v)
		}
	}
	if len(d) == 0 {
		return 0
	}
	sort.Float64s(d)
	med := d[len(d)/2]
	if len(d)%2 == 0 {
		med = (d[len(d)/2-1] + d[len(d)/2]) / 2
	}
	return 1.4826 * med / math.Sqrt2
}

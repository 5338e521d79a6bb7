package nilm

import (
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/usapp/usapp/sim/household"
)

// CO is the supervised combinatorial-optimisation disaggregator of Hart
// (1992, section on "combinatorial optimization"), in the form NILMTK uses as
// its baseline (Batra et al., "NILMTK", ACM e-Energy 2014): with the on-power
// of the top appliances known from sub-metered training data, each sample is
// explained by the on/off combination whose total (plus the always-on base
// load) is nearest to it, and every appliance whose state flips between
// samples is an event. To damp flicker between near-equal combinations the
// previous combination is kept while it explains the sample within
// NoiseFloor of the best one. Flips at one sample are netted into one event,
// so CO, like every attacker, reports at most one event per index.
type CO struct {
	Appliances []Signature // at most 16; more are ignored (2^n combinations)
	Base       float64     // W always-on load; 0 means the trace's 5th percentile
	NoiseFloor float64     // W; net flips smaller than this are not reported
}

// Signature is an appliance's steady on-power as learned from training data.
type Signature struct {
	Name  string
	Watts float64
}

// maxCOAppliances bounds the search at 2^16 combinations per sample.
const maxCOAppliances = 16

// TrainCO learns the signatures of the top appliances by energy from
// per-appliance series: an appliance's on-power is the median of its samples
// above threshold W; appliances never above threshold are skipped.
func TrainCO(appliances map[string][]float64, top int, threshold float64) CO {
	type cand struct {
		sig    Signature
		energy float64
	}
	var cands []cand
	for name, s := range appliances {
		var on []float64
		var energy float64
		for _, v := range s {
			energy += v
			if v > threshold {
				on = append(on, v)
			}
		}
		if len(on) > 0 {
			sort.Float64s(on)
			cands = append(cands, cand{Signature{name, on[len(on)/2]}, energy})
		}
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].energy != cands[j].energy {
			return cands[i].energy > cands[j].energy
		}
		return cands[i].sig.Name < cands[j].sig.Name
	})
	co := CO{NoiseFloor: threshold}
	for i := 0; i < len(cands) && i < top && i < maxCOAppliances; i++ {
		co.Appliances = append(co.Appliances, cands[i].sig)
	}
	return co
}

// ukdaleSignatures is trained once, on the embedded UK-DALE day.
var ukdaleSignatures = sync.OnceValue(func() []Signature {
	tr, err := household.UKDALE()
	if err != nil { // the file is embedded: cannot happen in a built binary
		return nil
	}
	return TrainCO(tr.Appliances, 6, DefaultNoiseFloor).Appliances
})

// DefaultCO returns CO trained on the six most energy-hungry appliances of
// the embedded UK-DALE day. Scored on that same day it is an in-sample upper
// bound: a utility that once sub-metered this very house.
func DefaultCO() CO {
	return CO{Appliances: slices.Clone(ukdaleSignatures()), NoiseFloor: DefaultNoiseFloor}
}

// Name is "co".
func (CO) Name() string { return "co" }

// Detect disaggregates metered sample by sample and reports state flips.
func (c CO) Detect(metered []float64, _ time.Duration) []Event {
	apps := c.Appliances
	if len(apps) > maxCOAppliances {
		apps = apps[:maxCOAppliances]
	}
	if len(metered) < 2 || len(apps) == 0 {
		return nil
	}
	totals := make([]float64, 1<<len(apps))
	for m := range totals {
		for k, a := range apps {
			if m&(1<<k) != 0 {
				totals[m] += a.Watts
			}
		}
	}
	base := c.Base
	if base == 0 {
		base = percentile(metered, 0.05)
	}
	var events []Event
	prev := -1
	for i, x := range metered {
		cur := bestCombination(totals, x-base, prev, c.NoiseFloor)
		if prev >= 0 && cur != prev {
			if d := totals[cur] - totals[prev]; math.Abs(d) > c.NoiseFloor {
				events = append(events, Event{Index: i, Delta: d})
			}
		}
		prev = cur
	}
	return events
}

// bestCombination is the combination nearest to target, or prev when prev is
// within hysteresis of it.
func bestCombination(totals []float64, target float64, prev int, hysteresis float64) int {
	best, bestErr := 0, math.Inf(1)
	for m, t := range totals {
		if e := math.Abs(target - t); e < bestErr {
			best, bestErr = m, e
		}
	}
	if prev >= 0 && math.Abs(target-totals[prev]) <= bestErr+hysteresis {
		return prev
	}
	return best
}

// percentile is the q-quantile of the finite values of x (0 if none).
func percentile(x []float64, q float64) float64 {
	s := make([]float64, 0, len(x))
	for _, v := range x {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			s = append(s, v)
		}
	}
	if len(s) == 0 {
		return 0
	}
	sort.Float64s(s)
	return s[int(q*float64(len(s)-1))]
}

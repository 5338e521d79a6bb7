package energy

import (
	"math"
	"math/rand/v2"
	"time"
)

// Random is a noise-shaped hider in the spirit of Zhao, Chen, Ding and Zhou,
// "Achieving differential privacy of data disclosure in the smart grid",
// IEEE INFOCOM 2014: instead of tracking a level derived from demand, the
// metered load is a piecewise-constant random level, redrawn at random
// (exponentially distributed) times, so that its changes are noise rather
// than appliance events. Each level is drawn uniformly within Spread watts of
// the moving average of demand plus an SoC correction that pulls the battery
// back to its target; a level is also redrawn early when holding it would
// take the battery within a guard of its limits. Same Run.Seed, same trace.
//
// Zhao et al. derive Laplace-shaped battery noise for a differential-privacy
// bound; this variant keeps only the idea of independent random metered
// changes and claims no such bound.
type Random struct {
	MeanHold time.Duration // mean time between redraws; 0 means 20 min
	Spread   float64       // W, half-width of the uniform draw; 0 means 300
	Average  time.Duration // moving-average window; 0 means 1 h
}

// Name is "random".
func (Random) Name() string { return "random" }

// Hide runs the policy.
func (rd Random) Hide(b Battery, r Run) (*Result, error) {
	s, err := newSim(b, r)
	if err != nil {
		return nil, err
	}
	hold, spread, avg := rd.MeanHold, rd.Spread, rd.Average
	if hold <= 0 {
		hold = 20 * time.Minute
	}
	if spread <= 0 {
		spread = 300
	}
	if avg <= 0 {
		avg = time.Hour
	}
	rng := rand.New(rand.NewPCG(uint64(r.Seed), 0x5eed_0f_c3))
	meanSteps := float64(steps(hold, r.Step))
	win := steps(avg, r.Step)
	guard := 0.1 * (s.maxKWh - s.minKWh)
	h := newHistory(s.n())
	level, next := 0.0, 0
	for s.t < s.n() {
		p := s.demand()
		h.push(p)
		after := s.socAfter(s.cellFor(p, level))
		low, high := after < s.minKWh+guard, after > s.maxKWh-guard
		if s.t >= next || low || high {
			centre := h.mean(win) + 0.5*s.correctionW(s.socTarget(s.t), win)
			if low { // draw around demand or above, so the battery stops draining
				centre = math.Max(centre, p+spread)
			} else if high {
				centre = math.Min(centre, p-spread)
			}
			level = math.Max(0, centre+spread*(2*rng.Float64()-1))
			next = s.t + 1 + int(rng.ExpFloat64()*meanSteps)
		}
		s.track(level)
	}
	return s.res, nil
}

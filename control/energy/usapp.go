package energy

import (
	"math"
	"time"
)

// USaPP is this project's hider; the package documentation explains the
// design and why it resists each attacker. In short: the meter reads a flat
// level on a coarse grid; the level jumps, whole, to a smoothed demand
// estimate plus an SoC correction (and a price-shaped SoC target) only when
// it has drifted far from it, at most once per MinGap unless the battery is
// near a limit, and only at a quiet moment, when the demand has not itself
// just stepped in the same direction.
type USaPP struct {
	Average    time.Duration // window of the demand estimate; 0 means 1 h
	Horizon    time.Duration // the SoC correction steers to target over this; 0 means 2 h
	Quantum    float64       // W, grid of levels; 0 means 200
	Hysteresis float64       // W, drift from the estimate that earns a jump; 0 means 250
	MinGap     time.Duration // shortest time between discretionary jumps; 0 means 10 min
	QuietW     float64       // W, largest same-sign demand step in the last two steps of a quiet moment; 0 means 30
	Band       float64       // guard band as a fraction of the SoC window at each end; 0 means 0.15
	// PriceShift is the fraction of the SoC window by which the target moves
	// up in the cheapest band and down in the dearest; 0 means 0.5, a
	// negative value disables price shaping.
	PriceShift float64
}

// Name is "usapp".
func (USaPP) Name() string { return "usapp" }

func (u USaPP) withDefaults() USaPP {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	deff := func(f *float64, v float64) {
		if *f <= 0 {
			*f = v
		}
	}
	def(&u.Average, time.Hour)
	def(&u.Horizon, 2*time.Hour)
	def(&u.MinGap, 10*time.Minute)
	deff(&u.Quantum, 200)
	deff(&u.Hysteresis, 250)
	deff(&u.QuietW, 30)
	deff(&u.Band, 0.15)
	if u.PriceShift == 0 {
		u.PriceShift = 0.5
	}
	return u
}

// Hide runs the policy.
func (u USaPP) Hide(b Battery, r Run) (*Result, error) {
	u = u.withDefaults()
	s, err := newSim(b, r)
	if err != nil {
		return nil, err
	}
	win, hor, gap := steps(u.Average, r.Step), steps(u.Horizon, r.Step), steps(u.MinGap, r.Step)
	band := u.Band * (s.maxKWh - s.minKWh)
	shape := newPriceShape(r.Prices, u.PriceShift*(s.maxKWh-s.minKWh)/2)
	h := newHistory(s.n())
	level, last := quantise(r.Demand[0], u.Quantum), 0
	for s.t < s.n() {
		t := s.t
		h.push(s.demand())
		goal := math.Max(0, h.mean(win)+s.correctionW(u.target(s, shape, min(t+hor, s.n()-1)), min(hor, s.n()-t)))
		dev := goal - level
		sign := math.Copysign(1, dev)
		lo, hi := s.window(min(t+1, s.n()-1))
		urgent := (dev > 0 && s.soc < lo+band) || (dev < 0 && s.soc > hi-band)
		quiet := u.quiet(r.Demand, t, sign)
		due := t-last >= gap
		if (math.Abs(dev) >= u.Hysteresis && due && quiet) ||
			(urgent && math.Abs(dev) >= u.Quantum/2 && (quiet || due)) {
			if next := quantise(goal, u.Quantum); next != level {
				level, last = next, t
			}
		}
		s.track(level)
	}
	return s.res, nil
}

// quiet reports whether step t is a moment at which a metered jump of the
// given sign cannot be confused with an appliance switching the same way at
// t or t−1: the demand did not step by more than QuietW in that direction
// over the last two steps. (An event at t+1 is unknowable causally; that
// chance is what remains.)
func (u USaPP) quiet(d []float64, t int, sign float64) bool {
	for k := range 2 {
		if t-k-1 >= 0 && sign*(d[t-k]-d[t-k-1]) > u.QuietW {
			return false
		}
	}
	return true
}

// target is the stored energy (kWh) USaPP steers to at step t: the run's SoC
// target moved by the price shape, faded out over the ReturnSoC ramp so that
// the run still ends at InitialSoC.
func (u USaPP) target(s *sim, shape priceShape, t int) float64 {
	return s.socTarget(t) + (1-s.returnFraction(t))*shape.at(t)
}

// priceShape turns a day-ahead price schedule into an SoC offset (kWh):
// +amp in the cheapest band, -amp in the dearest, linear in between. USaPP
// asks for it a block ahead, so the battery fills before a dear band begins.
type priceShape struct {
	prices []float64
	lo, hi float64
	amp    float64
}

func newPriceShape(prices []float64, amp float64) priceShape {
	ps := priceShape{prices: prices, amp: amp}
	if len(prices) == 0 || amp <= 0 {
		return priceShape{}
	}
	ps.lo, ps.hi = prices[0], prices[0]
	for _, c := range prices {
		ps.lo, ps.hi = math.Min(ps.lo, c), math.Max(ps.hi, c)
	}
	return ps
}

func (ps priceShape) at(t int) float64 {
	if ps.hi <= ps.lo || t >= len(ps.prices) {
		return 0
	}
	c := ps.prices[t]
	return ps.amp * (1 - 2*(c-ps.lo)/(ps.hi-ps.lo))
}

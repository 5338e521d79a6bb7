package energy

import (
	"math"
	"time"
)

// USaPP is this project's hider; the package documentation explains the
// design and why it resists both attackers. In short: the meter reads a flat
// level, re-chosen only at block boundaries fixed by the clock, from a
// smoothed demand estimate plus an SoC correction (and a price-shaped SoC
// target), quantised to a coarse grid and reached by a slow ramp; a guard
// moves the level at once, by whole quanta, only when the battery would
// otherwise hit a limit.
type USaPP struct {
	Block   time.Duration // spacing of the clock-fixed decision points; 0 means 1 h
	Average time.Duration // window of the demand estimate ; 0 means 2 h
	Quantum float64       // W, grid of levels; 0 means 100
	Ramp    float64       // W per step, slope of scheduled changes; 0 means 30
	Guard   float64       // guard band as a fraction of the SoC window at each end; 0 means 0.1
	Check   time.Duration // spacing of the clock-fixed guard checks; 0 means 10 min
	// PriceShift is the fraction of the SoC window by which the target moves
	// up in the cheapest band and down in the dearest; 0 means 0.35, a
	// negative value disables price shaping.
	PriceShift float64
	Slew       float64 // W per step; >0 selects the slew-limited policy
	Horizon    time.Duration
	Gain       float64
	QGoal      float64
	Hyst       float64
	MinGap     time.Duration
	QuietW     float64
	Band       float64
	Mode       int
}

// Name is "usapp".
func (USaPP) Name() string { return "usapp" }

func (u USaPP) withDefaults() USaPP {
	if u.Block <= 0 {
		u.Block = time.Hour
	}
	if u.Average <= 0 {
		u.Average = 2 * time.Hour
	}
	if u.Quantum <= 0 {
		u.Quantum = 100
	}
	if u.Ramp <= 0 {
		u.Ramp = 30
	}
	if u.Guard <= 0 {
		u.Guard = 0.1
	}
	if u.Check <= 0 {
		u.Check = 10 * time.Minute
	}
	if u.PriceShift == 0 {
		u.PriceShift = 0.35
	}
	return u
}

// Hide runs the policy.
func (u USaPP) Hide(b Battery, r Run) (*Result, error) {
	u = u.withDefaults()
	if u.Mode == 1 {
		return u.hideJump(b, r)
	}
	if u.Slew > 0 {
		return u.hideSlew(b, r)
	}
	s, err := newSim(b, r)
	if err != nil {
		return nil, err
	}
	block, win := steps(u.Block, r.Step), steps(u.Average, r.Step)
	guard := u.Guard * (s.maxKWh - s.minKWh)
	check := steps(u.Check, r.Step)
	shape := newPriceShape(r.Prices, u.PriceShift*(s.maxKWh-s.minKWh)/2)
	h := newHistory(s.n())
	want := func(t int) float64 { return u.target(s, shape, min(t, s.n()-1)) }
	goal := quantise(r.Demand[0]+s.correctionW(want(block), 2*block), u.Quantum)
	level := goal
	for s.t < s.n() {
		t, p := s.t, s.demand()
		h.push(p)
		if t > 0 && t%block == 0 {
			raw := h.mean(win) + s.correctionW(want(t+block), min(2*block, s.n()-t))
			if math.Abs(raw-goal) >= 0.75*u.Quantum {
				goal = quantise(raw, u.Quantum)
			}
		}
		level = ramp(level, goal, u.Ramp)
		if t > 0 && t%check == 0 {
			if g, trip := u.guard(s, h, level, check, guard); trip {
				goal, level = g, g
			}
		}
		s.track(level)
	}
	return s.res, nil
}

// guard predicts, at a clock-fixed check, whether holding level until the
// next check would take the stored energy into a guard band at either end if
// demand stays at its mean since the last check. If so it returns the
// nearest level, whole quanta away, that keeps the battery out of the band.
// It ignores the instantaneous demand, so a short appliance run (a kettle)
// is absorbed by the band instead of moving the level at its edge.
func (u USaPP) guard(s *sim, h *history, level float64, check int, band float64) (float64, bool) {
	recent := h.mean(check)
	minKWh, maxKWh := s.window(min(s.t+check, s.n()-1))
	span := float64(check) * s.dt / joulesPerKWh // hours·(kWh/W·h) folded: W → kWh over the span
	if recent > level && s.soc-(recent-level)/s.eff*span < minKWh+band {
		need := recent - (s.soc-minKWh-band)*s.eff/span
		return ceilTo(math.Max(need, level+u.Quantum), u.Quantum), true
	}
	if recent < level && s.soc+(level-recent)*s.eff*span > maxKWh-band {
		need := recent + (maxKWh-band-s.soc)/s.eff/span
		return math.Max(0, floorTo(math.Min(need, level-u.Quantum), u.Quantum)), true
	}
	return level, false
}

// target is the stored energy (kWh) USaPP steers to at step t: the run's SoC
// target moved by the price shape, faded out over the ReturnSoC ramp so that
// the run still ends at InitialSoC.
func (u USaPP) target(s *sim, shape priceShape, t int) float64 {
	return s.socTarget(t) + (1-s.returnFraction(t))*shape.at(t)
}

// ramp moves level towards goal by at most r.
func ramp(level, goal, r float64) float64 {
	return level + math.Max(-r, math.Min(r, goal-level))
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

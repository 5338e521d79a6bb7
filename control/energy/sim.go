package energy

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// JoulesPerKWh is the number of W·s in a kWh.
const JoulesPerKWh = 3.6e6

// maxSteps bounds a run so that a hostile length cannot exhaust memory:
// a year of 1-second samples.
const maxSteps = 366 * 24 * 3600

// Run is one stretch of household demand to hide.
type Run struct {
	Demand    []float64     // p, W, mean power over each step, not negative
	Step      time.Duration // length of one step
	Prices    []float64     // per step, currency/kWh, known a day ahead; nil if flat
	ReturnSoC bool          // end the run at InitialSoC (within what demand allows)
	Seed      int64         // for randomised algorithms; same seed, same result
	Planned   []PlannedLoad // loads the HEMS has scheduled, known before they start; nil if none
	// Reserve is, per step, the energy (kWh) the home's history expects its
	// large loads to need over the next hours (ReserveFromHistory); USaPP
	// keeps that much more charge. Nil if the home has no history.
	Reserve []float64
}

// Result is what an algorithm did, one entry per step. At every step
// Demand[t] = Metered[t] + Battery[t] + Loss[t] to floating-point rounding.
type Result struct {
	Metered []float64 // p_i, W, what the meter sees (never negative: no export)
	Battery []float64 // pB, W, power leaving the cells (+ discharge, - charge)
	Loss    []float64 // pL, W, conversion loss, never positive
	SoC     []float64 // kWh stored after each step
	// Target is the state of charge (kWh) the algorithm steered toward at
	// each step, for algorithms that steer to one (usapp: its target one
	// horizon ahead, with the return ramp, the price shape, Run.Reserve and
	// Run.Planned in it); nil for the others.
	Target []float64
}

// Validate reports every problem with the run as a *FieldError wrapping ErrRun.
func (r Run) Validate() error {
	var errs []error
	bad := func(field string, err error) {
		errs = append(errs, &FieldError{Field: field, Err: fmt.Errorf("%w: %w", ErrRun, err)})
	}
	if len(r.Demand) == 0 {
		bad("Demand", errEmpty)
	}
	if len(r.Demand) > maxSteps {
		bad("Demand", errors.New("too many steps"))
	}
	if i := firstBad(r.Demand); i >= 0 {
		bad(fmt.Sprintf("Demand[%d]", i), errNegative)
	}
	if r.Step <= 0 {
		bad("Step", errNotPositive)
	}
	series := func(name string, xs []float64) {
		if xs == nil {
			return
		}
		if len(xs) != len(r.Demand) {
			bad(name, errLength)
		}
		if i := firstBad(xs); i >= 0 {
			bad(fmt.Sprintf("%s[%d]", name, i), errNegative)
		}
	}
	series("Prices", r.Prices)
	series("Reserve", r.Reserve)
	for i, pl := range r.Planned {
		if err := pl.check(len(r.Demand)); err != nil {
			bad(fmt.Sprintf("Planned[%d]", i), err)
		}
	}
	return errors.Join(errs...)
}

// firstBad is the index of the first value of a per-step series (W, kWh or
// a price) that is negative or not finite, or -1.
func firstBad(xs []float64) int {
	for i, x := range xs {
		if !finite(x) || x < 0 {
			return i
		}
	}
	return -1
}

// sim is the one home of the battery physics. Algorithms only ask it for a
// metered target or a cell power; it clamps the request to the power limits,
// the SoC window and the no-export rule, applies the conversion losses and
// records the step. Nothing else writes a Result.
type sim struct {
	b          Battery
	r          Run
	res        *Result
	dt         float64 // seconds per step
	eff        float64 // one-way efficiency √η
	capKWh     float64
	minKWh     float64
	maxKWh     float64
	initKWh    float64
	soc        float64 // kWh now, before step t
	t          int     // next step to apply
	sumDemand  float64 // demand of the steps before t, for the return funnel
	chargeW    float64 // cell power limits in W
	dischargeW float64
}

func newSim(b Battery, r Run) (*sim, error) {
	if err := b.Validate(); err != nil {
		return nil, err
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	n := len(r.Demand)
	s := &sim{
		b: b, r: r,
		res: &Result{
			Metered: make([]float64, n), Battery: make([]float64, n),
			Loss: make([]float64, n), SoC: make([]float64, n),
		},
		dt:         r.Step.Seconds(),
		eff:        b.oneWay(),
		capKWh:     b.CapacityKWh,
		minKWh:     b.MinSoC * b.CapacityKWh,
		maxKWh:     b.MaxSoC * b.CapacityKWh,
		initKWh:    b.InitialSoC * b.CapacityKWh,
		chargeW:    b.MaxChargeKW * 1000,
		dischargeW: b.MaxDischargeKW * 1000,
	}
	s.soc = s.initKWh
	return s, nil
}

// n is the number of steps in the run.
func (s *sim) n() int { return len(s.r.Demand) }

// hours is the length of k steps in hours.
func (s *sim) hours(k int) float64 { return float64(k) * s.dt / 3600 }

// cellFor is the cell power that would make the meter read target at demand p,
// before any clamping: discharging delivers eff·pB, charging draws pB/eff.
func (s *sim) cellFor(p, target float64) float64 {
	if p >= target {
		return (p - target) / s.eff
	}
	return (p - target) * s.eff
}

// meteredFor is the metered power at demand p with cell power pB, unclamped.
func (s *sim) meteredFor(p, pB float64) float64 {
	if pB >= 0 {
		return p - s.eff*pB
	}
	return p - pB/s.eff
}

// socAfter is the stored energy after one step at cell power pB, unclamped.
func (s *sim) socAfter(pB float64) float64 { return s.soc - pB*s.dt/JoulesPerKWh }

// hardBounds is the interval of cell power the physics allows at demand p:
// power limits, the SoC window and no export. Idle (0) is always inside it.
func (s *sim) hardBounds(p float64) (lo, hi float64) {
	hi = math.Min(s.dischargeW, (s.soc-s.minKWh)*JoulesPerKWh/s.dt)
	hi = math.Min(hi, p/s.eff)
	lo = math.Max(-s.chargeW, -(s.maxKWh-s.soc)*JoulesPerKWh/s.dt)
	return math.Min(lo, 0), math.Max(hi, 0)
}

// bounds narrows hardBounds, when the run must return the SoC, to a funnel
// that closes on InitialSoC at the last step. Below, it closes at half the
// charge limit; above, at half the mean demand seen so far (what a household
// can usually absorb without export). Where it cannot be met the physics
// wins, so the end state is as close to InitialSoC as demand allows.
func (s *sim) bounds(p float64) (lo, hi float64) {
	lo, hi = s.hardBounds(p)
	if !s.r.ReturnSoC {
		return lo, hi
	}
	down, up := s.window(s.t)
	fLo := (s.soc - up) * JoulesPerKWh / s.dt   // pB at least this keeps SoC below up
	fHi := (s.soc - down) * JoulesPerKWh / s.dt // pB at most this keeps SoC above down
	return clampInterval(fLo, fHi, lo, hi)
}

// window is the stored energy (kWh) allowed after step t: the SoC window,
// narrowed by the return funnel when the run must end at InitialSoC.
// Algorithms may plan against it; the simulator enforces it.
func (s *sim) window(t int) (lo, hi float64) {
	if !s.r.ReturnSoC {
		return s.minKWh, s.maxKWh
	}
	left := s.hours(s.n() - 1 - t)
	up := s.initKWh + left*math.Min(0.5*s.b.MaxDischargeKW, 0.5*s.eff*s.meanDemand()/1000)
	down := s.initKWh - left*0.5*s.b.MaxChargeKW
	return math.Max(s.minKWh, down), math.Min(s.maxKWh, up)
}

// clampInterval intersects [a, b] with [lo, hi]; when they are disjoint it
// returns the point of [lo, hi] nearest to [a, b].
func clampInterval(a, b, lo, hi float64) (float64, float64) {
	switch {
	case a > hi:
		return hi, hi
	case b < lo:
		return lo, lo
	}
	return math.Max(a, lo), math.Min(b, hi)
}

// meanDemand is the mean demand up to and including the current step, the
// same whether an algorithm asks before apply or apply asks for itself.
func (s *sim) meanDemand() float64 { return (s.sumDemand + s.demand()) / float64(s.t+1) }

// demand is p at the step about to be applied.
func (s *sim) demand() float64 { return s.r.Demand[s.t] }

// track asks for the meter to read target at the current step.
func (s *sim) track(target float64) float64 {
	return s.apply(s.cellFor(s.demand(), target))
}

// apply asks for cell power pB at the current step, clamps it, records the
// step and advances. It returns the metered power.
func (s *sim) apply(pB float64) float64 {
	p := s.demand()
	lo, hi := s.bounds(p)
	if math.IsNaN(pB) {
		pB = 0
	}
	pB = math.Max(lo, math.Min(hi, pB))
	var pL float64
	if pB >= 0 {
		pL = -(1 - s.eff) * pB
	} else {
		pL = pB/s.eff - pB
	}
	m := p - pB - pL
	if m < 0 { // rounding at the no-export edge
		m = 0
		pL = p - pB
	}
	// Rounding must never carry the SoC outside its window.
	s.soc = math.Max(s.minKWh, math.Min(s.maxKWh, s.socAfter(pB)))
	t := s.t
	s.res.Metered[t], s.res.Battery[t], s.res.Loss[t], s.res.SoC[t] = m, pB, pL, s.soc
	s.sumDemand += p
	s.t++
	return m
}

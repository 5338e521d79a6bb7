package energy

import (
	"fmt"
	"math"
	"time"
)

// PlannedLoad is one run of an appliance the HEMS starts itself (a washing
// machine, dishwasher or tumble dryer set to run at a time the HEMS chose),
// so its power sequence is known before it begins: about Power[k] W at step
// From+k. USAPP.md's HEMS schedules loads; this is what it knows by doing so.
type PlannedLoad struct {
	From  int
	Power []float64
}

// To is the step after the load's last.
func (p PlannedLoad) To() int { return p.From + len(p.Power) }

func (p PlannedLoad) check(n int) error {
	switch {
	case p.From < 0 || p.From >= n:
		return fmt.Errorf("From %d is outside the run's %d steps", p.From, n)
	case len(p.Power) == 0:
		return fmt.Errorf("Power %w", errEmpty)
	case len(p.Power) > n-p.From:
		return fmt.Errorf("Power runs %d steps past the end of Demand", len(p.Power)-(n-p.From))
	}
	for k, w := range p.Power {
		if !finite(w) || w < 0 {
			return fmt.Errorf("Power[%d] %w", k, errNegative)
		}
	}
	return nil
}

// Spreading planned loads (USaPP.PlanSwing, USaPP.PlanCover). A load shorter
// than planMinRun is left to the battery and the restarted median, which hide
// it as they hide an unplanned one; planMaxSpread bounds how far ahead of a
// load the meter starts to show it.
const (
	planMinRun    = 55 * time.Minute
	planMaxSpread = 4 * time.Hour
)

// plannedShift is the power (W, per step) USaPP adds to the demand it
// estimates so that each planned load reads on the meter as a plateau h over
// [From−a, To+a) instead of its own power over [From, To), with h·(T+2a) its
// energy E. The battery stores h·a before the load, returns 2h·a during it
// and stores h·a after, so the load's energy still reaches the meter, spread
// over a window that mostly does not contain it. a is the widest spread with
// the swing h·a at most swingKWh and the battery's share 2a/(T+2a) of E at
// most cover (each share costs 1/η − 1 of itself in losses). stored is the
// running total of the shift (kWh): the SoC excursion the spreading plans,
// which USaPP adds to its SoC target so that its correction does not undo it.
func plannedShift(r Run, swingKWh, cover float64) (shift, stored []float64) {
	n := len(r.Demand)
	shift = make([]float64, n)
	stored = make([]float64, n)
	if len(r.Planned) == 0 {
		return shift, stored
	}
	whPerStep := r.Step.Hours() // W over one step is this many Wh
	minRun, maxSpread := steps(planMinRun, r.Step), steps(planMaxSpread, r.Step)
	for _, pl := range r.Planned {
		if len(pl.Power) < minRun {
			continue
		}
		T, E := float64(len(pl.Power)), 0.0
		for _, w := range pl.Power {
			E += w
		}
		a := spread(T, E, swingKWh*1000/whPerStep, cover, float64(maxSpread))
		lo, hi := max(0, pl.From-a), min(n, pl.To()+a)
		h := E / float64(hi-lo)
		for t := lo; t < hi; t++ {
			shift[t] += h
		}
		for k, w := range pl.Power {
			shift[pl.From+k] -= w
		}
	}
	acc := 0.0
	for t, w := range shift {
		acc += w * whPerStep / 1000
		stored[t] = acc
	}
	return shift, stored
}

// spread is the widest a (steps) up to most with h·a ≤ swing and
// 2a/(T+2a) ≤ cover, where h = E/(T+2a), all in W·steps; both are
// increasing in a, so each gives an upper limit in closed form.
func spread(T, E, swing, cover, most float64) int {
	a := most
	if cover < 1 {
		a = math.Min(a, cover*T/(2*(1-cover)))
	}
	if E > 2*swing { // below that, no spread swings the store past swing
		a = math.Min(a, swing*T/(E-2*swing))
	}
	return int(math.Max(0, a))
}

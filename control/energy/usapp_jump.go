package energy

import "math"

func (u USaPP) hideJump(b Battery, r Run) (*Result, error) {
	s, err := newSim(b, r)
	if err != nil {
		return nil, err
	}
	win := steps(u.Average, r.Step)
	hor := steps(u.Horizon, r.Step)
	gap := steps(u.MinGap, r.Step)
	band := u.Band * (s.maxKWh - s.minKWh)
	shape := newPriceShape(r.Prices, u.PriceShift*(s.maxKWh-s.minKWh)/2)
	h := newHistory(s.n())
	want := func(t int) float64 { return u.target(s, shape, min(t, s.n()-1)) }
	level := quantise(r.Demand[0], u.Quantum)
	last := 0
	d := r.Demand
	for s.t < s.n() {
		t, p := s.t, s.demand()
		h.push(p)
		goal := math.Max(0, h.mean(win)+u.Gain*s.correctionW(want(t+hor), min(hor, s.n()-t)))
		dev := goal - level
		lo, hi := s.window(min(t+1, s.n()-1))
		short := steps(u.Check, r.Step)
		if s.soc < lo+band {
			goal = math.Max(goal, h.mean(short)+s.correctionW(lo+2*band, hor/4))
		} else if s.soc > hi-band {
			goal = math.Max(0, math.Min(goal, h.mean(short)+s.correctionW(hi-2*band, hor/4)))
		}
		dev = goal - level
		urgent := (dev > 0 && s.soc < lo+band) || (dev < 0 && s.soc > hi-band)
		quiet := func(sign float64) bool {
			for k := 0; k < 2; k++ {
				if t-k-1 >= 0 && sign*(d[t-k]-d[t-k-1]) > u.QuietW {
					return false
				}
			}
			return true
		}
		sign := math.Copysign(1, dev)
		switch {
		case math.Abs(dev) >= u.Hyst && t-last >= gap && quiet(sign),
			urgent && math.Abs(dev) >= u.Quantum/2 && (quiet(sign) || t-last >= gap):
			nl := quantise(goal, u.Quantum)
			if nl != level {
				level, last = nl, t
			}
		}
		s.track(level)
	}
	return s.res, nil
}

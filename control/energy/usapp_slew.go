package energy

import "math"

func (u USaPP) hideSlew(b Battery, r Run) (*Result, error) {
	s, err := newSim(b, r)
	if err != nil {
		return nil, err
	}
	win := steps(u.Average, r.Step)
	hor := steps(u.Horizon, r.Step)
	shape := newPriceShape(r.Prices, u.PriceShift*(s.maxKWh-s.minKWh)/2)
	h := newHistory(s.n())
	want := func(t int) float64 { return u.target(s, shape, min(t, s.n()-1)) }
	level := r.Demand[0]
	for s.t < s.n() {
		t, p := s.t, s.demand()
		h.push(p)
		goal := h.mean(win) + u.Gain*s.correctionW(want(t+hor), min(hor, s.n()-t))
		if u.QGoal > 0 {
			goal = quantise(goal, u.QGoal)
		}
		goal = math.Max(goal, 0)
		level = ramp(level, goal, u.Slew)
		s.track(level)
	}
	return s.res, nil
}

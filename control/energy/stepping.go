package energy

import "math"

// Stepping lets the metered load take only multiples of a step β and change
// only when the battery forces it: while the stored energy stays inside a
// guard band the level is held; when it would fall below the band the level
// becomes the smallest multiple of β at or above demand (the battery
// charges), when it would rise above the band the largest multiple at or
// below demand (it discharges). Yang, Li, Jiang, Guo and Lu, "Minimizing
// private data disclosures in the smart grid", ACM CCS 2012 (the stepping
// algorithms). A coarse β hides appliances smaller than β and makes every
// change a multiple of β rather than an appliance's own step.
type Stepping struct {
	Beta  float64 // W, step of the metered load; 0 means 400
	Guard float64 // guard band as a fraction of the SoC window at each end; 0 means 0.15
}

// Name is "stepping".
func (Stepping) Name() string { return "stepping" }

// Hide runs the policy.
func (st Stepping) Hide(b Battery, r Run) (*Result, error) {
	s, err := newSim(b, r)
	if err != nil {
		return nil, err
	}
	beta, guard := st.Beta, st.Guard
	if beta <= 0 {
		beta = 400
	}
	if guard <= 0 {
		guard = 0.15
	}
	g := guard * (s.maxKWh - s.minKWh)
	level := quantise(r.Demand[0], beta)
	for s.t < s.n() {
		p := s.demand()
		next := s.socAfter(s.cellFor(p, level))
		want := s.socTarget(s.t)
		lo, hi := max(s.minKWh+g, want-(s.maxKWh-s.minKWh)/2+g), min(s.maxKWh-g, want+(s.maxKWh-s.minKWh)/2-g)
		switch {
		case next < lo:
			level = ceilTo(p, beta)
			if level == p {
				level += beta
			}
		case next > hi:
			level = max(0, floorTo(p, beta))
			if level == p && level > 0 {
				level -= beta
			}
		}
		s.track(level)
	}
	return s.res, nil
}

func ceilTo(w, q float64) float64  { return q * math.Ceil(w/q) }
func floorTo(w, q float64) float64 { return q * math.Floor(w/q) }

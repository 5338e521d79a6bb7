package energy

import "time"

// NILL (non-intrusive load leveling) keeps the metered load at a steady
// target K_SS while the stored energy stays inside a band; when it leaves the
// band the policy switches to a high-recovery state (target K_H below K_SS,
// so the battery discharges) or a low-recovery state (target K_L above K_SS,
// so it charges) until the stored energy is back at its target, then returns
// to the steady state with K_SS recomputed as the moving average of demand.
// McLaughlin, McDaniel and Aiello, "Protecting consumer privacy from electric
// load monitoring", ACM CCS 2011.
//
// The paper's recovery targets are multiples of K_SS; here K_H = K_SS/2 and
// K_L = 3·K_SS/2 (at least Recovery watts away from K_SS, so that recovery
// also works at near-zero demand). With ReturnSoC the recovery target
// follows the run's SoC target line to InitialSoC.
type NILL struct {
	Band     float64       // band half-width as a fraction of the SoC window; 0 means 0.3
	Average  time.Duration // moving-average window for K_SS; 0 means 1 h
	Recovery float64       // W, smallest distance of K_H and K_L from K_SS; 0 means 150
}

// Name is "nill".
func (NILL) Name() string { return "nill" }

type nillState int

const (
	nillSteady nillState = iota
	nillHigh
	nillLow
)

// Hide runs the policy.
func (n NILL) Hide(b Battery, r Run) (*Result, error) {
	s, err := newSim(b, r)
	if err != nil {
		return nil, err
	}
	band, avg, rec := n.Band, n.Average, n.Recovery
	if band <= 0 {
		band = 0.3
	}
	if avg <= 0 {
		avg = time.Hour
	}
	if rec <= 0 {
		rec = 150
	}
	half := band * (s.maxKWh - s.minKWh)
	win := steps(avg, r.Step)
	h := newHistory(s.n())
	state, kSS := nillSteady, r.Demand[0]
	for s.t < s.n() {
		h.push(s.demand())
		want := s.socTarget(s.t)
		switch {
		case state == nillSteady && s.soc > want+half:
			state = nillHigh
		case state == nillSteady && s.soc < want-half:
			state = nillLow
		case state == nillHigh && s.soc <= want, state == nillLow && s.soc >= want:
			state, kSS = nillSteady, h.mean(win)
		}
		target := kSS
		switch state {
		case nillHigh:
			target = max(0, min(kSS/2, kSS-rec))
		case nillLow:
			target = max(3*kSS/2, kSS+rec)
		}
		s.track(target)
	}
	return s.res, nil
}

package energy

// BestEffort holds the metered load at its previous value for as long as the
// battery allows; when a limit is reached the meter follows demand until the
// battery can hold again, and the new value is held. This is the
// best-effort policy of Kalogridis, Sooriyabandara, Fan and Mustafa,
// "Privacy for smart meters: towards undetectable appliance load
// signatures", IEEE SmartGridComm 2010.
//
// It has no SoC steering of its own; with ReturnSoC the simulator's closing
// funnel brings the battery back to InitialSoC.
type BestEffort struct{}

// Name is "best-effort".
func (BestEffort) Name() string { return "best-effort" }

// Hide runs the policy.
func (BestEffort) Hide(b Battery, r Run) (*Result, error) {
	s, err := newSim(b, r)
	if err != nil {
		return nil, err
	}
	level := r.Demand[0]
	for s.t < s.n() {
		level = s.track(level)
	}
	return s.res, nil
}

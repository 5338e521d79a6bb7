package eval

import "github.com/usapp/usapp/privacy/nilm"

// Target is a set of goals for a hider at one battery: the worst attacker's
// event F1, the mutual information and the extra energy, each at most.
type Target struct {
	F1             float64
	MIBits         float64
	ExtraEnergyPct float64
}

// DesignTarget is C3.load-hiding's goal for a 2 kWh / 3 kW battery returned
// to its starting charge (issue 3): F1 ≤ 0.10, MI ≤ 0.5 bits, extra energy
// ≤ 3 %.
var DesignTarget = Target{F1: 0.10, MIBits: 0.5, ExtraEnergyPct: 3}

// GoalBaselines names the published hiders that C3.load-hiding's goal asks
// ours to beat: best-effort (Kalogridis et al. 2010), NILL (McLaughlin et al.
// 2011) and stepping (Yang et al. 2012).
var GoalBaselines = []string{"best-effort", "nill", "stepping"}

// Standing is how one algorithm did on one trace at one battery, measured
// against a Target and against the baselines.
type Standing struct {
	// Worst is the algorithm's row for the attacker with the highest F1.
	Worst Row
	// F1, MI and Energy say which of the target's goals Worst meets; a NaN
	// figure meets none.
	F1, MI, Energy bool
	// Compared is how many of the baselines have a row for the adaptive
	// attacker (nilm.Adaptive, which knows hiding is in use); BeatsF1 and
	// BeatsMI compare against those only, and are false when there are none
	// or the algorithm is one of them.
	Compared         int
	BeatsF1, BeatsMI bool
	// Adaptive is the algorithm's row for the adaptive attacker; the zero
	// Row when the rows have none.
	Adaptive Row
}

// All reports whether every goal of the target is met.
func (s Standing) All() bool { return s.F1 && s.MI && s.Energy }

// WholeGoal reports whether the algorithm meets the whole goal on
// the day: every goal of the target, and below every baseline on F1 and MI
// against the adaptive attacker.
func (s Standing) WholeGoal() bool { return s.All() && s.BeatsF1 && s.BeatsMI }

// Stand returns the standing of every algorithm in rows, in the order the
// algorithms first appear. Rows must come from one battery (one Evaluate,
// not a Sweep); baselines names the algorithms to beat. Beating means an
// adaptive-attacker F1 and MI strictly below every baseline's.
func (t Target) Stand(rows []Row, baselines []string) []Standing {
	adaptive := map[string]Row{}
	for _, r := range rows {
		if r.Attacker == (nilm.Adaptive{}).Name() {
			adaptive[r.Algorithm] = r
		}
	}
	var out []Standing
	for _, w := range Worst(rows) {
		s := Standing{
			Worst:  w,
			F1:     w.F1 <= t.F1,
			MI:     w.MIBits <= t.MIBits,
			Energy: w.ExtraEnergyPct <= t.ExtraEnergyPct,
		}
		own, ok := adaptive[w.Algorithm]
		s.Adaptive = own
		s.BeatsF1, s.BeatsMI = ok, ok
		for _, name := range baselines {
			base, found := adaptive[name]
			if !found {
				continue
			}
			s.Compared++
			s.BeatsF1 = s.BeatsF1 && own.F1 < base.F1
			s.BeatsMI = s.BeatsMI && own.MIBits < base.MIBits
		}
		if s.Compared == 0 {
			s.BeatsF1, s.BeatsMI = false, false
		}
		out = append(out, s)
	}
	return out
}

package eval

import (
	"math"
	"testing"
)

// standRows is a hand-made day: usapp beats both baselines on adaptive F1,
// ties nill on MI, and its worst attacker is hart.
func standRows() []Row {
	return []Row{
		{Algorithm: "best-effort", Attacker: "adaptive", F1: 0.20, MIBits: 0.40, ExtraEnergyPct: 4},
		{Algorithm: "best-effort", Attacker: "hart", F1: 0.10, MIBits: 0.40, ExtraEnergyPct: 4},
		{Algorithm: "nill", Attacker: "adaptive", F1: 0.30, MIBits: 0.45, ExtraEnergyPct: 2},
		{Algorithm: "usapp", Attacker: "adaptive", F1: 0.05, MIBits: 0.45, ExtraEnergyPct: 3},
		{Algorithm: "usapp", Attacker: "hart", F1: 0.10, MIBits: 0.45, ExtraEnergyPct: 3},
	}
}

func TestStandTargetsAreInclusiveAndUseTheWorstAttacker(t *testing.T) {
	got := DesignTarget.Stand(standRows(), []string{"best-effort", "nill"})
	if len(got) != 3 {
		t.Fatalf("%d standings, want one per algorithm (3)", len(got))
	}
	u := got[2]
	if u.Worst.Algorithm != "usapp" || u.Worst.Attacker != "hart" {
		t.Fatalf("usapp's worst row is %s/%s, want usapp/hart (F1 0.10 > 0.05)", u.Worst.Algorithm, u.Worst.Attacker)
	}
	if !u.F1 || !u.MI || !u.Energy || !u.All() {
		t.Errorf("usapp at exactly F1 0.10, 0.45 bits, 3 %%: %+v, want every target met", u)
	}
	if be := got[0]; be.Energy || be.All() {
		t.Errorf("best-effort at 4 %% meets the energy target: %+v", be)
	}
}

func TestStandBeatsIsStrictAndAgainstTheAdaptiveAttacker(t *testing.T) {
	got := DesignTarget.Stand(standRows(), []string{"best-effort", "nill"})
	u := got[2]
	if u.Compared != 2 || !u.BeatsF1 {
		t.Errorf("usapp: compared %d, beats F1 %v; want 2, true (0.05 < 0.20, 0.30)", u.Compared, u.BeatsF1)
	}
	if u.BeatsMI {
		t.Error("usapp beats on MI with 0.45 against nill's 0.45; a tie is not a win")
	}
	if !u.All() || u.WholeGoal() {
		t.Errorf("usapp meets all three targets but ties on MI: all %v, whole goal %v; want true, false", u.All(), u.WholeGoal())
	}
	won := u
	won.BeatsMI = true
	if !won.WholeGoal() {
		t.Error("all three targets and below the baselines on F1 and MI is not the whole goal")
	}
	if be := got[0]; be.BeatsF1 || be.BeatsMI {
		t.Errorf("best-effort beats itself: %+v", be)
	}
}

func TestStandWithoutBaselinesBeatsNothing(t *testing.T) {
	rows := standRows()[3:] // usapp only
	u := DesignTarget.Stand(rows, GoalBaselines)[0]
	if u.Compared != 0 || u.BeatsF1 || u.BeatsMI {
		t.Errorf("with no baseline rows: %+v, want compared 0 and no wins", u)
	}
	// Without the adaptive attacker nothing is compared either.
	u = DesignTarget.Stand([]Row{standRows()[1], standRows()[4]}, GoalBaselines)[1]
	if u.Compared != 0 || u.BeatsF1 {
		t.Errorf("with hart rows only: %+v, want compared 0", u)
	}
}

func TestStandNaNMeetsNothing(t *testing.T) {
	nan := math.NaN()
	u := DesignTarget.Stand([]Row{{Algorithm: "x", Attacker: "hart", F1: 0, MIBits: nan, ExtraEnergyPct: nan}}, nil)[0]
	if u.MI || u.Energy || u.All() {
		t.Errorf("NaN figures meet a target: %+v", u)
	}
}

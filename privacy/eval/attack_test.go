package eval

import (
	"testing"

	"github.com/usapp/usapp/control/energy"
	"github.com/usapp/usapp/privacy/nilm"
	"github.com/usapp/usapp/sim/household"
)

// Attack on a metered series gives the same scores Evaluate reports for the
// algorithm that produced it, and the demand itself is fully exposed.
func TestAttackAgreesWithEvaluate(t *testing.T) {
	tr, err := household.UKDALE()
	if err != nil {
		t.Fatal(err)
	}
	alg, _ := energy.Lookup("best-effort")
	rep, err := EvaluateReport(tr, energy.DefaultBattery(), []energy.Algorithm{alg}, nilm.Attackers(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var hidden []float64
	for _, h := range rep.Runs {
		if h.Algorithm == "best-effort" {
			hidden = h.Metered
		}
	}
	e, err := Attack(tr, hidden, nilm.Attackers(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Rows {
		if r.Algorithm == "best-effort" && e.Scores[r.Attacker].F1 != r.F1 {
			t.Fatalf("%s: Attack F1 %v, Evaluate %v", r.Attacker, e.Scores[r.Attacker].F1, r.F1)
		}
		if r.Algorithm == "best-effort" && e.MIBits != r.MIBits {
			t.Fatalf("MI %v vs %v", e.MIBits, r.MIBits)
		}
	}
	plain, err := Attack(tr, tr.Mains, nilm.Attackers(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if plain.Scores["hart"].F1 < 0.8 {
		t.Fatalf("unhidden demand: hart F1 %v", plain.Scores["hart"].F1)
	}
	if _, err := Attack(tr, hidden[:10], nil, Options{}); err == nil {
		t.Fatal("a metered series of another length was accepted")
	}
}

package eval

import (
	"slices"
	"testing"

	"github.com/usapp/usapp/control/energy"
	"github.com/usapp/usapp/privacy/nilm"
	"github.com/usapp/usapp/sim/household"
)

// Told the runs of synthetic home 11's deferrable appliances, USaPP spreads
// them and the meter says less about the demand: 0.906 bits without the
// plan, 0.723 with it (go run ./cmd/usapp privacy eval --data synthetic
// --seed 11 [--planned]). Not every home gains as much: BenchmarkPlannedLoads
// has the means.
func TestPlannedLoadsLowerUSaPPsMI(t *testing.T) {
	tr, _, err := Builtin(SourceSynthetic, 11)
	if err != nil {
		t.Fatal(err)
	}
	mi := func(planned bool) float64 {
		rows, err := Evaluate(tr, energy.DefaultBattery(), []energy.Algorithm{energy.USaPP{}}, nilm.Attackers()[:1], Options{Planned: planned})
		if err != nil {
			t.Fatal(err)
		}
		return rows[len(rows)-1].MIBits
	}
	without, with := mi(false), mi(true)
	if with > without-0.05 {
		t.Errorf("MI %.3f bits with the plan, %.3f without; want at least 0.05 lower", with, without)
	}
}

// BenchmarkPlannedLoads compares USaPP told the runs of each home's
// deferrable appliances (Options.Planned) with USaPP not told, on the goal
// days, the population and the held-out homes. Run with -v:
//
//	go test ./privacy/eval -run xxx -bench PlannedLoads -benchtime 1x -v
func BenchmarkPlannedLoads(b *testing.B) {
	sets := goalPopulationHeldOut(b)
	for b.Loop() {
		for _, set := range sets {
			for _, planned := range []bool{false, true} {
				var all int
				var f1, mi, extra float64
				for _, d := range set.days {
					s := usappStanding(b, d, energy.USaPP{}, Options{Planned: planned})
					all += b2i(s.All())
					f1, mi, extra = f1+s.Worst.F1, mi+s.Worst.MIBits, extra+s.Worst.ExtraEnergyPct
				}
				k := float64(len(set.days))
				b.Logf("%-10s planned=%-5v all three on %2d of %d days; mean worst F1 %.3f, MI %.3f bits, extra energy %.2f %%",
					set.name, planned, all, len(set.days), f1/k, mi/k, extra/k)
			}
		}
	}
}

// BenchmarkDayAheadTuning asks whether a HEMS could instead pick USaPP's
// settings each night from the home's previous days: on 40 homes, the best
// of 49 settings over 1, 3 and 7 days of history (household.Synthetic.Day
// −1, −2, ...) is run on the home's day 0, against the defaults and against
// the best setting chosen with hindsight. Run with -v:
//
//	go test ./privacy/eval -run xxx -bench DayAheadTuning -benchtime 1x -v
func BenchmarkDayAheadTuning(b *testing.B) {
	settings := append([]energy.Algorithm{energy.USaPP{}}, usappGrid(-1, 0.25, 0.5)...)
	algos := append(baselines(), settings...)
	// meets is, per setting, whether it meets all three targets on the day.
	meets := func(day *household.Trace) map[string]bool {
		rows, err := Evaluate(day, energy.DefaultBattery(), algos, nilm.Attackers(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		out := map[string]bool{}
		for _, s := range DesignTarget.Stand(rows, GoalBaselines) {
			out[s.Worst.Algorithm] = s.All()
		}
		return out
	}
	for b.Loop() {
		for _, hist := range []int{1, 3, 7} {
			var defaults, tuned, hindsight int
			for seed := int64(1); seed <= 40; seed++ {
				wins := map[string]int{}
				home := syntheticHome(seed)
				for _, day := range home.History(hist) {
					for name, ok := range meets(day) {
						wins[name] += b2i(ok)
					}
				}
				best := settings[0].Name()
				for _, a := range settings {
					if wins[a.Name()] > wins[best] {
						best = a.Name()
					}
				}
				today := meets(home.Generate())
				defaults, tuned = defaults+b2i(today["usapp"]), tuned+b2i(today[best])
				hindsight += b2i(slices.ContainsFunc(settings, func(a energy.Algorithm) bool { return today[a.Name()] }))
			}
			b.Logf("%d days of history: all three targets on day 0 of 40 homes: defaults %d, tuned on history %d, best with hindsight %d", hist, defaults, tuned, hindsight)
		}
	}
}

package eval

import (
	"fmt"
	"slices"
	"testing"

	"github.com/usapp/usapp/control/energy"
	"github.com/usapp/usapp/privacy/nilm"
)

// daySet is a named set of test days.
type daySet struct {
	name string
	days []testDay
}

// goalPopulationHeldOut are the goal days, the population the
// defaults were chosen on, and the 40 held-out homes.
func goalPopulationHeldOut(tb testing.TB) []daySet {
	return []daySet{
		{"goal days", testDays(tb, 5)},
		{"population", testDays(tb, populationSeeds)},
		{"held out", syntheticDays(tb, 21, 60)},
	}
}

// usappStanding is u's standing against the design target and the goal's
// baselines on day d.
func usappStanding(tb testing.TB, d testDay, u energy.USaPP, opts Options) Standing {
	rows, err := Evaluate(d.trace, energy.DefaultBattery(), append(baselines(), u), nilm.Attackers(), opts)
	if err != nil {
		tb.Fatal(err)
	}
	st := DesignTarget.Stand(rows, GoalBaselines)
	return st[slices.IndexFunc(st, func(s Standing) bool { return s.Worst.Algorithm == "usapp" })]
}

// BenchmarkGridPower compares USaPP's level grids (energy.USaPP.GridPower:
// standby + 200 W·k^power) on the goal days, the population and the
// held-out homes: days within all three targets, days below the three
// baselines on MI, days meeting the whole goal (all three and below the
// baselines on F1 and MI), and the means. Run with -v:
//
//	go test ./privacy/eval -run xxx -bench GridPower -benchtime 1x -v
func BenchmarkGridPower(b *testing.B) {
	sets := goalPopulationHeldOut(b)
	for b.Loop() {
		for _, set := range sets {
			for _, power := range []float64{1, 1.5, 1.75, 2, 2.5} {
				logGoal(b, set, fmt.Sprintf("power %-4g", power), energy.USaPP{GridPower: power})
			}
		}
	}
}

// logGoal logs u's standing over the days of set: days within all three
// targets, days below the three baselines on MI, days meeting the whole
// goal (all three and below the baselines on F1 and MI), the means (with
// the daily cost at the default tariff) and whether the means meet the
// whole goal (population.verdict).
func logGoal(b *testing.B, set daySet, label string, u energy.USaPP) {
	b.Helper()
	s, met := measureSetting(b, set, u)
	n := float64(s.days)
	verdict := "not met"
	if met {
		verdict = "met"
	}
	b.Logf("%-10s %s all three %2d, below on MI %2d, whole goal %2d of %d; mean worst F1 %.3f, MI %.3f bits, extra energy %.2f %%, £%.3f a day; whole goal on the means: %s",
		set.name, label, s.okAll, s.beatsMI, s.whole, s.days, s.f1/n, s.mi/n, s.energy/n, s.cost/n, verdict)
}

// measureSetting runs u with the baselines over the days of set and
// returns u's sums and whether its means meet the whole goal.
func measureSetting(tb testing.TB, set daySet, u energy.USaPP) (*populationStats, bool) {
	pop := measurePopulation(tb, traces(set.days), append(baselines(), u), energy.DefaultBattery())
	met, _ := pop.verdict(u.Name())
	return pop.stats[u.Name()], met
}

package eval

import (
	"fmt"
	"testing"

	"github.com/usapp/usapp/control/energy"
)

// BenchmarkPriceShapes compares USaPP without price shaping (PriceShift −1)
// and with its shape (fill before a dearer band) at three amplitudes, on
// the goal days, the population and the held-out homes: days within all
// three targets, days below the three baselines on MI, days meeting the
// whole goal, the means (worst F1, MI, extra energy, daily cost with the
// default tariff) and whether the means meet the whole goal. The shape that
// also spent in the dear band was measured at commit 3b88693 (BENCHMARKS.md).
// Run with -v:
//
//	go test ./privacy/eval -run xxx -bench PriceShapes -benchtime 1x -v
func BenchmarkPriceShapes(b *testing.B) {
	sets := goalPopulationHeldOut(b)
	for b.Loop() {
		for _, set := range sets {
			for _, shift := range []float64{-1, 0.25, 0.5, 0.75} {
				logSetWithCost(b, set, fmt.Sprintf("PriceShift %-5g", shift), energy.USaPP{PriceShift: shift})
			}
		}
	}
}

// logSetWithCost logs u's standing over set as logGoal does, with the mean
// daily cost and the verdict on the means (population.verdict).
func logSetWithCost(b *testing.B, set daySet, label string, u energy.USaPP) {
	b.Helper()
	pop := measurePopulation(b, traces(set.days), append(baselines(), u), energy.DefaultBattery())
	s, n := pop.stats["usapp"], float64(pop.days)
	verdict := "not met"
	if ok, _ := pop.verdict("usapp"); ok {
		verdict = "met"
	}
	b.Logf("%-10s %s all three %2d, below on MI %2d, whole goal %2d of %d; means: worst F1 %.3f, MI %.3f bits, extra %.2f %%, £%.3f a day; whole goal on the means: %s",
		set.name, label, s.okAll, s.beatsMI, s.whole, pop.days, s.f1/n, s.mi/n, s.energy/n, s.cost/n, verdict)
}

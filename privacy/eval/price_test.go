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
				logGoal(b, set, fmt.Sprintf("PriceShift %-5g", shift), energy.USaPP{PriceShift: shift})
			}
		}
	}
}

package eval

import (
	"fmt"
	"strings"
	"testing"

	"github.com/usapp/usapp/control/energy"
	"github.com/usapp/usapp/privacy/metrics"
)

// BenchmarkMIEstimators asks whether the MI ranking of the hiders is an
// artefact of binning each series over its own range (the rows' mi_bits):
// over the population it reports each algorithm's mean MI under that
// estimate and under fixed 100 W and 200 W bins shared by demand and
// metered load (metrics.MutualInformationWidth), and on how many days
// USaPP's MI is below all three baselines' under each. Run with -v to see the
// table:
//
//	go test ./privacy/eval -run xxx -bench MIEstimators -benchtime 1x -v
func BenchmarkMIEstimators(b *testing.B) {
	days := populationDays(b)
	algos := append(baselines(), energy.Random{}, energy.USaPP{})
	estimators := []struct {
		name string
		mi   func(p, q []float64) float64
	}{
		{"32 own-range bins", func(p, q []float64) float64 { return metrics.MutualInformation(p, q, DefaultMIBins) }},
		{"100 W bins", func(p, q []float64) float64 { return metrics.MutualInformationWidth(p, q, 100) }},
		{"200 W bins", func(p, q []float64) float64 { return metrics.MutualInformationWidth(p, q, 200) }},
	}
	sum := map[string][]float64{}
	var order []string // "none", then algos, as the runs come
	beats := make([]int, len(estimators))
	for b.Loop() {
		clear(sum)
		clear(beats)
		order = order[:0]
		for _, tr := range days {
			rep, err := EvaluateReport(tr, energy.DefaultBattery(), algos, nil, Options{})
			if err != nil {
				b.Fatal(err)
			}
			for e, est := range estimators {
				mi := map[string]float64{}
				for _, run := range rep.Runs {
					mi[run.Algorithm] = est.mi(tr.Mains, run.Metered)
					if sum[run.Algorithm] == nil {
						sum[run.Algorithm] = make([]float64, len(estimators))
						order = append(order, run.Algorithm)
					}
					sum[run.Algorithm][e] += mi[run.Algorithm] / float64(len(days))
				}
				below := true
				for _, base := range GoalBaselines {
					below = below && mi["usapp"] < mi[base]
				}
				beats[e] += b2i(below)
			}
		}
	}
	tab := &strings.Builder{}
	fmt.Fprintf(tab, "%d days; mean I(demand; metered) in bits\n%-12s", len(days), "algorithm")
	for _, est := range estimators {
		fmt.Fprintf(tab, " %18s", est.name)
	}
	for _, name := range order {
		fmt.Fprintf(tab, "\n%-12s", name)
		for _, v := range sum[name] {
			fmt.Fprintf(tab, " %18.3f", v)
		}
	}
	fmt.Fprintf(tab, "\n%-12s", "usapp below")
	for _, n := range beats {
		fmt.Fprintf(tab, " %13d days", n)
	}
	b.Log("\n" + tab.String())
}

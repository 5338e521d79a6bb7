package eval

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// BenchmarkMedianLag prices the lag of a causal demand estimate: on each of
// the six goal days, the extra energy a battery with η = 0.9 would spend if
// the metered level were exactly a 30-minute median of demand, trailing
// (causal) or centred (a quarter of an hour of foresight), before any
// quantising or SoC steering: 100·(1/η − 1)·Σ(p − level)⁺/Σp. The gap is
// what USaPP's restarted median (control/energy) goes after. Run with -v:
//
//	go test ./privacy/eval -run xxx -bench MedianLag -benchtime 1x -v
func BenchmarkMedianLag(b *testing.B) {
	days := testDays(b, 5)
	tab := &strings.Builder{}
	for b.Loop() {
		tab.Reset()
		fmt.Fprintf(tab, "%-12s %9s %9s\n", "day", "trailing", "centred")
		for _, d := range days {
			p := d.trace.Mains
			k := int(30 * time.Minute / d.trace.Step)
			trailing := lagCostPct(p, func(t int) (int, int) { return t - k + 1, t + 1 })
			centred := lagCostPct(p, func(t int) (int, int) { return t - k/2, t + k/2 + 1 })
			fmt.Fprintf(tab, "%-12s %8.2f%% %8.2f%%\n", d.name, trailing, centred)
		}
	}
	b.Log("\n" + tab.String())
}

// lagCostPct is the extra energy (%) of a level that is the median of p over
// the window span(t) returns, clipped to the series.
func lagCostPct(p []float64, span func(t int) (from, to int)) float64 {
	levels := make([]float64, len(p))
	for t := range p {
		from, to := span(t)
		w := slices.Clone(p[max(from, 0):min(to, len(p))])
		slices.Sort(w)
		levels[t] = w[len(w)/2]
	}
	return servedLossPct(p, levels, 0.9)
}

// Package metrics implements the measurements behind C3.load-hiding: how much
// an attacker learns from the metered power p_i (event precision, recall and
// F1 against per-appliance ground truth, mutual information I(p; p_i),
// Pearson correlation) and what hiding costs (extra energy, peak, tariff
// cost). Privacy in USaPP is a number measured with an attacker from package
// nilm, never a claim.
//
// # Conventions
//
//   - Series are in watts, mean power per step, index-aligned.
//   - A ratio whose denominator is zero is 0 (precision with nothing
//     detected, recall with nothing to detect, the correlation of a constant),
//     never NaN: "the attacker learned nothing measurable".
//   - Inputs that cannot give a meaningful number (series of different
//     lengths, fewer than one bin) give NaN, so that the mistake is visible
//     (and encoding/json refuses it) instead of becoming a plausible figure.
//
// # Concurrency
//
// Every function is pure: it reads its arguments and keeps no state.
package metrics

import (
	"math"
	"time"
)

// ExtraEnergyPct is the energy drawn from the grid beyond the demand, as a
// percentage of the demand's energy: 100·(Σ metered − Σ demand)/Σ demand.
// It is the battery's losses plus any change in its stored energy. A demand
// of zero energy gives 0 when metered is zero too and NaN otherwise; series of
// different lengths give NaN.
func ExtraEnergyPct(demand, metered []float64) float64 {
	if len(demand) != len(metered) {
		return math.NaN()
	}
	var d, m float64
	for i := range demand {
		d += demand[i]
		m += metered[i]
	}
	switch {
	case d == 0 && m == 0:
		return 0
	case d == 0:
		return math.NaN()
	}
	return 100 * (m - d) / d
}

// Peak is the largest value of xs in watts, 0 for an empty series.
func Peak(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	p := xs[0]
	for _, x := range xs[1:] {
		p = math.Max(p, x)
	}
	return p
}

// Cost is the tariff cost of metered power: Σ metered[t]·Δt (kWh) ·
// prices[t] (currency per kWh). Export (negative metered power) is credited
// at the same price, as under net metering. Prices must have one entry per
// sample; otherwise Cost is NaN.
func Cost(metered []float64, prices []float64, step time.Duration) float64 {
	if len(prices) != len(metered) {
		return math.NaN()
	}
	hours := step.Hours()
	var c float64
	for i, w := range metered {
		c += w / 1000 * hours * prices[i]
	}
	return c
}

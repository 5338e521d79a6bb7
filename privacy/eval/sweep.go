package eval

import (
	"cmp"
	"slices"

	"github.com/usapp/usapp/control/energy"
	"github.com/usapp/usapp/privacy/nilm"
	"github.com/usapp/usapp/sim/household"
)

// SweepCapacitiesKWh are the battery sizes of the privacy-against-battery
// curve the issue asks for: 0.25 to 5 kWh.
var SweepCapacitiesKWh = []float64{0.25, 0.5, 1, 1.5, 2, 3, 4, 5}

// Batteries returns one copy of base per capacity with only CapacityKWh
// changed. Power limits stay fixed on purpose: the curve then isolates the
// energy a battery can shift, and its left end shows what a small battery
// with the same inverter can hide. (Scaling power with capacity would mix
// the two limits: at 0.25 kWh and base's C-rate nothing above a few hundred
// watts could be hidden, whatever the algorithm.)
func Batteries(base energy.Battery, capacitiesKWh []float64) []energy.Battery {
	out := make([]energy.Battery, len(capacitiesKWh))
	for i, c := range capacitiesKWh {
		out[i] = base
		out[i].CapacityKWh = c
	}
	return out
}

// Sweep evaluates tr once per battery with the same options and seed (common
// random numbers, so differences along the curve come from the battery, not
// the noise). The reference "none" rows appear once, first, with battery 0;
// then each battery's algorithm rows, in the order of batteries.
func Sweep(tr *household.Trace, batteries []energy.Battery, algos []energy.Algorithm, attackers []nilm.Attacker, opts Options) ([]Row, error) {
	var out []Row
	for i, b := range batteries {
		rows, err := Evaluate(tr, b, algos, attackers, opts)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			rows = slices.DeleteFunc(rows, func(r Row) bool { return r.Algorithm == None })
		}
		out = append(out, rows...)
	}
	return out, nil
}

// Worst keeps, for every (algorithm, battery), the row of the attacker with
// the highest F1, ties going to the first in input order: the privacy a
// household can count on is the one against its best-informed adversary.
// The result keeps the input order of the first row of each group.
func Worst(rows []Row) []Row {
	type key struct {
		algo string
		kwh  float64
	}
	at := make(map[key]int)
	var out []Row
	for _, r := range rows {
		k := key{r.Algorithm, r.BatteryKWh}
		i, ok := at[k]
		switch {
		case !ok:
			at[k] = len(out)
			out = append(out, r)
		case r.F1 > out[i].F1:
			out[i] = r
		}
	}
	return out
}

// ByBattery sorts rows by battery size, then algorithm name, for curves.
func ByBattery(rows []Row) []Row {
	out := slices.Clone(rows)
	slices.SortStableFunc(out, func(a, b Row) int {
		return cmp.Or(cmp.Compare(a.BatteryKWh, b.BatteryKWh), cmp.Compare(a.Algorithm, b.Algorithm))
	})
	return out
}

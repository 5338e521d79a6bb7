package nilm

import (
	"math"
	"sort"
)

// Activation is one appliance run inferred from a matched on and off event.
type Activation struct {
	On, Off int     // sample indices of the on and the off event
	Watts   float64 // mean magnitude of the two steps
	Label   int     // cluster number from 0; runs with one label look like one appliance
}

// Activations is Hart's second stage: on/off pairing and clustering into
// appliance labels. Each off event is paired with the most recent unpaired on
// event whose magnitude matches within relTol (a fraction, e.g. 0.2), so
// nested runs of different appliances pair correctly. Paired runs are then
// clustered by power, in ascending order of Watts: a run joins the current
// cluster when it lies within relTol of the cluster's mean, and starts the
// next label otherwise. Unpaired events are left out. The result is sorted by
// On. events must be sorted by index, as every [Attacker] returns them.
func Activations(events []Event, relTol float64) []Activation {
	var open []Event
	var runs []Activation
	for _, e := range events {
		if e.Delta > 0 {
			open = append(open, e)
			continue
		}
		off := -e.Delta
		for k := len(open) - 1; k >= 0; k-- {
			on := open[k].Delta
			if math.Abs(on-off) <= relTol*math.Max(on, off) {
				runs = append(runs, Activation{On: open[k].Index, Off: e.Index, Watts: (on + off) / 2})
				open = append(open[:k], open[k+1:]...)
				break
			}
		}
	}
	cluster(runs, relTol)
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].On < runs[j].On })
	return runs
}

// cluster labels runs by one pass over them in ascending power.
func cluster(runs []Activation, relTol float64) {
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].Watts < runs[j].Watts })
	label, sum, n := 0, 0.0, 0
	for i := range runs {
		if n > 0 && math.Abs(runs[i].Watts-sum/float64(n)) > relTol*sum/float64(n) {
			label, sum, n = label+1, 0, 0
		}
		runs[i].Label = label
		sum += runs[i].Watts
		n++
	}
}

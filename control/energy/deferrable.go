package energy

import (
	"slices"
	"strings"
	"time"
)

// Deferrable appliances are those a HEMS can schedule: it picks when they
// start, so it knows their runs ahead ([PlannedLoad]). The names are the
// synthetic generator's and UK-DALE's, without the UK-DALE instance suffix.
var deferrable = []string{"washing_machine", "dishwasher", "dish_washer", "tumble_dryer", "washer_dryer"}

// How PlannedLoads reads runs from an appliance's power. A run is the span
// over which the appliance draws more than plannedOnW, pauses shorter than
// plannedGap included (a washing machine rests between heating and
// spinning). Its power sequence is averaged over plannedSlot: an appliance
// can announce its programme's phases, not its draw minute by minute.
const (
	plannedOnW  = 20.0
	plannedGap  = 10 * time.Minute
	plannedSlot = 15 * time.Minute
)

// IsDeferrable reports whether an appliance (named as in household traces:
// "washing_machine", "dish_washer_1") is one a HEMS schedules.
func IsDeferrable(name string) bool {
	base := strings.TrimRightFunc(name, func(r rune) bool { return r == '_' || ('0' <= r && r <= '9') })
	return slices.Contains(deferrable, base)
}

// PlannedLoads returns the runs of the deferrable appliances among
// appliances (per-appliance power in W, one value per step of length step),
// as the HEMS that scheduled them would know them, in order of start. It is
// what a scheduling HEMS puts in [Run.Planned].
func PlannedLoads(appliances map[string][]float64, step time.Duration) []PlannedLoad {
	var out []PlannedLoad
	gap, slot := max(1, int(plannedGap/step)), max(1, int(plannedSlot/step))
	for name, p := range appliances {
		if IsDeferrable(name) {
			out = append(out, runsOf(p, gap, slot)...)
		}
	}
	slices.SortFunc(out, func(a, b PlannedLoad) int { return a.From - b.From })
	return out
}

// runsOf cuts p into runs (see the constants above).
func runsOf(p []float64, gap, slot int) []PlannedLoad {
	var out []PlannedLoad
	from, last := -1, -1
	closeRun := func() {
		if from >= 0 {
			out = append(out, PlannedLoad{From: from, Power: slotMeans(p[from:last+1], slot)})
		}
	}
	for t, w := range p {
		if w <= plannedOnW {
			continue
		}
		if from < 0 || t-last > gap {
			closeRun()
			from = t
		}
		last = t
	}
	closeRun()
	return out
}

// slotMeans replaces every slot of p by its mean.
func slotMeans(p []float64, slot int) []float64 {
	out := make([]float64, len(p))
	for k0 := 0; k0 < len(p); k0 += slot {
		k1 := min(k0+slot, len(p))
		var sum float64
		for _, w := range p[k0:k1] {
			sum += w
		}
		for k := k0; k < k1; k++ {
			out[k] = sum / float64(k1-k0)
		}
	}
	return out
}

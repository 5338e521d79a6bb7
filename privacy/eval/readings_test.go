package eval

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/usapp/usapp/control/energy"
	"github.com/usapp/usapp/privacy/metrics"
	"github.com/usapp/usapp/privacy/nilm"
)

// BenchmarkGoalReadings measures issue 3's goal under the readings its text
// allows, from the same runs, so that the author can see what each would
// decide. "Per day": every day must meet the whole goal (the three targets
// against the worst attacker, and adaptive-attacker F1 and MI below
// best-effort, NILL and stepping). "On the means": the same conditions on
// each algorithm's means over the set. The UK-DALE day is the first of the
// goal days and of the population. Run with -v:
//
//	go test ./privacy/eval -run xxx -bench GoalReadings -benchtime 1x -v
func BenchmarkGoalReadings(b *testing.B) {
	sets := goalPopulationHeldOut(b)
	for b.Loop() {
		for _, set := range sets {
			var all, synthetic population
			for _, d := range set.days {
				rows, err := Evaluate(d.trace, energy.DefaultBattery(), append(baselines(), energy.USaPP{}), nilm.Attackers(), Options{})
				if err != nil {
					b.Fatal(err)
				}
				st := DesignTarget.Stand(rows, GoalBaselines)
				all.addDay(st)
				if d.seed != 0 {
					synthetic.addDay(st)
				}
			}
			_, v := all.verdict("usapp")
			b.Logf("%-10s per day: whole goal on %d of %d days; on the means: %s", set.name, all.stats["usapp"].whole, all.days, v)
			if synthetic.days < all.days {
				_, v := synthetic.verdict("usapp")
				b.Logf("%-10s on the means of the %d synthetic days only: %s", set.name, synthetic.days, v)
			}
		}
	}
}

// On its means, usapp meets the whole goal (the three targets, and adaptive
// F1 and MI below best-effort, NILL and stepping) over the synthetic
// population and over the goal days, the UK-DALE day among them
// (BENCHMARKS.md, "The goal under each reading" and "The price shape"). With
// the earlier price shape, which also spent in the dear band, the goal
// days' mean MI (0.397 bits) was above stepping's (0.368).
func TestWholeGoalOnTheMeans(t *testing.T) {
	for _, set := range []daySet{
		{"synthetic population", syntheticDays(t, 1, populationSeeds)},
		{"goal days", testDays(t, 5)},
	} {
		pop := measurePopulation(t, traces(set.days), append(baselines(), energy.USaPP{}), energy.DefaultBattery())
		if ok, v := pop.verdict("usapp"); !ok {
			t.Errorf("%s, %d days: %s", set.name, pop.days, v)
		}
	}
}

// BenchmarkSettingsForTheReading asks whether tuning alone meets the goal
// under the reading "the UK-DALE day per day, the synthetic homes on the
// means": 400 random settings of all twelve knobs (as
// BenchmarkUSaPPRandomSettings), then 400 in the region where the first
// draw's passes cluster (Quantum 150 W, GridPower 1.5, StepW 300 W, MinGap 5
// min). It counts the settings meeting the whole goal on the UK-DALE day, on
// the means of the 20 population homes, both, and also on the means of the
// 40 held-out homes. Then it moves each knob of one setting that meets all
// three (tuningA) one step either way and counts the neighbours that still
// do: a default chosen on one day should not be a knife edge. Last, it
// logs tuningA and the defaults on the synthetic population, the held-out
// homes, the UK-DALE day under fixed bins and the UCI excerpt. Run with -v:
//
//	go test ./privacy/eval -run xxx -bench SettingsForTheReading -benchtime 1x -v   # 20 s
func BenchmarkSettingsForTheReading(b *testing.B) {
	uk := testDays(b, 0)[0]
	pop, held := syntheticDays(b, 1, populationSeeds), syntheticDays(b, 21, 60)
	local := randomUSaPPSettings(400, 1)
	for i := 1; i < len(local); i++ {
		u := local[i].Algorithm.(energy.USaPP)
		u.Quantum, u.GridPower, u.StepW, u.MinGap = 150, 1.5, 300, 5*time.Minute
		local[i].Algorithm = u
	}
	for b.Loop() {
		for _, draw := range []struct {
			name     string
			settings []Setting
		}{{"random", randomUSaPPSettings(400, 1)}, {"region", local}, {"tuningA's neighbours", neighbours(tuningA)}} {
			r := readingOf(b, draw.settings, uk, pop, held)
			b.Logf("%-20s %d settings: whole goal on UK-DALE %d, on the population's means %d, both %d, and on the held-out means too %d",
				draw.name, len(draw.settings), r.uk, r.pop, r.both, r.all)
		}
		both := []Setting{{"usapp", "defaults", energy.USaPP{}}, {"usapp", "tuningA", tuningA}}
		for _, s := range both {
			b.Logf("%-8s population %s | held out %s (days within all three / whole goal / mean MI / mean extra %% / on the means)",
				s.Label, goalCell(b, daySet{"population", pop}, s.Algorithm.(energy.USaPP)), goalCell(b, daySet{"held out", held}, s.Algorithm.(energy.USaPP)))
		}
		logFixedBins(b, uk, both)
		logOnUCI(b, both)
	}
}

// logFixedBins logs the baselines' and each setting's MI on day d under the
// rows' estimate (32 bins over each series' own range) and under fixed
// bins shared by demand and metered load (metrics.MutualInformationWidth),
// which one level more or less at the edge of the metered range cannot
// move.
func logFixedBins(b *testing.B, d testDay, settings []Setting) {
	algos := baselines()
	for _, s := range settings {
		algos = append(algos, s)
	}
	rep, err := EvaluateReport(d.trace, energy.DefaultBattery(), algos, nil, Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, h := range rep.Runs[1:] {
		b.Logf("%s, %-16s MI %.3f bits (own-range bins), %.3f (100 W bins), %.3f (200 W bins)", d.name, h.Algorithm,
			metrics.MutualInformation(d.trace.Mains, h.Metered, DefaultMIBins),
			metrics.MutualInformationWidth(d.trace.Mains, h.Metered, 100), metrics.MutualInformationWidth(d.trace.Mains, h.Metered, 200))
	}
}

// logOnUCI logs each setting's figures on the other real home, the UCI
// excerpt (36.7 h, its three sub-meters as the ground truth).
func logOnUCI(b *testing.B, settings []Setting) {
	f, err := os.Open(uciFile)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	tr, err := LoadTrace(f, uciFile)
	if err != nil {
		b.Fatal(err)
	}
	var algos []energy.Algorithm
	for _, s := range settings {
		algos = append(algos, s)
	}
	rows, err := Evaluate(tr, energy.DefaultBattery(), algos, nilm.Attackers(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, w := range Worst(rows)[1:] {
		b.Logf("UCI excerpt, %-16s worst F1 %.3f, MI %.3f bits, extra energy %.2f %%", w.Algorithm, w.F1, w.MIBits, w.ExtraEnergyPct)
	}
}

// tuningA is one setting that meets the whole goal on the UK-DALE day and on
// the means of the population and the held-out homes, found by a further
// draw of 400 in BenchmarkSettingsForTheReading's region.
var tuningA = energy.USaPP{Window: 20 * time.Minute, Settle: 5 * time.Minute, StepW: 300, Horizon: 3 * time.Hour,
	Quantum: 150, GridPower: 1.5, Hysteresis: 250, MinGap: 5 * time.Minute, QuietW: 30, Band: 0.15, PriceShift: 0.5,
	RideThrough: 15 * time.Minute}

// neighbours is u and every setting one knob step away from it.
func neighbours(u energy.USaPP) []Setting {
	out := []Setting{{"usapp", "base", u}}
	add := func(label string, f func(v *energy.USaPP)) {
		v := u
		f(&v)
		out = append(out, Setting{"usapp", label, v})
	}
	for _, d := range []float64{-1, 1} {
		m := func(x time.Duration, step float64) time.Duration { return x + time.Duration(d*step)*time.Minute }
		add(fmt.Sprint("Window", d), func(v *energy.USaPP) { v.Window = m(v.Window, 5) })
		add(fmt.Sprint("Settle", d), func(v *energy.USaPP) { v.Settle = m(v.Settle, 2) })
		add(fmt.Sprint("StepW", d), func(v *energy.USaPP) { v.StepW += d * 50 })
		add(fmt.Sprint("Horizon", d), func(v *energy.USaPP) { v.Horizon = m(v.Horizon, 60) })
		add(fmt.Sprint("Quantum", d), func(v *energy.USaPP) { v.Quantum += d * 25 })
		add(fmt.Sprint("GridPower", d), func(v *energy.USaPP) { v.GridPower += d * 0.25 })
		add(fmt.Sprint("Hysteresis", d), func(v *energy.USaPP) { v.Hysteresis += d * 50 })
		add(fmt.Sprint("MinGap", d), func(v *energy.USaPP) { v.MinGap = m(v.MinGap, 2) })
		add(fmt.Sprint("QuietW", d), func(v *energy.USaPP) { v.QuietW += d * 10 })
		add(fmt.Sprint("Band", d), func(v *energy.USaPP) { v.Band += d * 0.05 })
		add(fmt.Sprint("PriceShift", d), func(v *energy.USaPP) { v.PriceShift += d * 0.25 })
		add(fmt.Sprint("RideThrough", d), func(v *energy.USaPP) { v.RideThrough = m(v.RideThrough, 5) })
	}
	return out
}

type readingCounts struct{ uk, pop, both, all int }

// readingOf runs the baselines and every setting on the UK-DALE day and on
// each synthetic home once, and counts the settings meeting the goal under
// the reading.
func readingOf(tb testing.TB, settings []Setting, uk testDay, pop, held []testDay) readingCounts {
	algos := baselines()
	for _, s := range settings {
		algos = append(algos, s)
	}
	ukDay := standSettings(tb, uk, settings)
	popMeans := measurePopulation(tb, traces(pop), algos, energy.DefaultBattery())
	heldMeans := measurePopulation(tb, traces(held), algos, energy.DefaultBattery())
	var c readingCounts
	for i, s := range settings {
		onUK := ukDay.standings[i].WholeGoal()
		okPop, _ := popMeans.verdict(s.Name())
		okHeld, _ := heldMeans.verdict(s.Name())
		c.uk += b2i(onUK)
		c.pop += b2i(okPop)
		c.both += b2i(onUK && okPop)
		c.all += b2i(onUK && okPop && okHeld)
	}
	return c
}

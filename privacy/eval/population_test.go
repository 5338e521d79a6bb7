package eval

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/usapp/usapp/control/energy"
	"github.com/usapp/usapp/privacy/nilm"
	"github.com/usapp/usapp/sim/household"
)

// populationSeeds is how many synthetic homes BenchmarkPopulation adds to
// the UK-DALE day.
const populationSeeds = 20

// BenchmarkPopulation measures every algorithm over a population of days
// (the UK-DALE day and synthetic seeds 1-20) with the default battery and
// reports, per algorithm, the mean of each figure and on how many days each
// target holds; the non-causal Reference says on how many days any
// flat-level schedule could meet both the MI and the energy target. Run with
// -v to see the table:
//
//	go test ./privacy/eval -run xxx -bench Population -benchtime 1x -v
func BenchmarkPopulation(b *testing.B) {
	days := populationDays(b)
	bat := energy.DefaultBattery()
	var pop *population
	var reachable int
	for b.Loop() {
		pop = measurePopulation(b, days, energy.Algorithms(), bat)
		reachable = 0
		for _, tr := range days {
			ref, err := Reference(tr, bat.RoundTripEfficiency, ReferenceHolds, DefaultMIBins)
			if err != nil {
				b.Fatal(err)
			}
			for _, p := range ref {
				if p.MIBits <= DesignTarget.MIBits && p.ExtraEnergyPct <= DesignTarget.ExtraEnergyPct {
					reachable++
					break
				}
			}
		}
	}
	tab := pop.table()
	fmt.Fprintf(tab, "non-causal reference meets MI and energy targets on %d of %d days\n", reachable, len(days))
	b.Log("\n" + tab.String())
	if u := pop.stats["usapp"]; u != nil {
		n := float64(u.days)
		b.ReportMetric(u.f1/n, "usapp-mean-F1")
		b.ReportMetric(u.mi/n, "usapp-mean-MI-bits")
		b.ReportMetric(u.energy/n, "usapp-mean-extra-%")
		b.ReportMetric(float64(u.okAll), "usapp-days-all-targets")
	}
	b.ReportMetric(float64(reachable), "reference-days-MI+energy")
}

// Over the population USaPP keeps the figures BENCHMARKS.md reports for it
// (measured: all three targets on 11 of 21 days, mean extra energy 2.82 %,
// mean worst F1 0.044, mean MI 0.351 bits, lower adaptive F1 than
// best-effort, NILL and stepping on 19 days), with a small margin. The
// version before the settled median and the standby grid met all three on 4
// days at 3.63 %.
func TestUSaPPPopulation(t *testing.T) {
	pop := measurePopulation(t, populationDays(t), append(baselines(), energy.USaPP{}), energy.DefaultBattery())
	u := pop.stats["usapp"]
	n := float64(u.days)
	if u.okAll < 9 {
		t.Errorf("all three targets on %d of %d days, want at least 9 (measured 11)", u.okAll, u.days)
	}
	if e := u.energy / n; e > 2.9 {
		t.Errorf("mean extra energy %.2f %%, want <= 2.9 (measured 2.82)", e)
	}
	if f := u.f1 / n; f > 0.05 {
		t.Errorf("mean worst F1 %.3f, want <= 0.05 (measured 0.044)", f)
	}
	if m := u.mi / n; m > 0.38 {
		t.Errorf("mean MI %.3f bits, want <= 0.38 (measured 0.351)", m)
	}
	if b := u.beatsF1; b < 17 {
		t.Errorf("beats the baselines on adaptive F1 on %d days, want at least 17 (measured 19)", b)
	}
	if t.Failed() {
		t.Log("\n" + pop.table().String())
	}
}

// BenchmarkPopulationHeldOut is BenchmarkPopulation's table for USaPP and
// the three baselines on synthetic seeds 21-60, homes that were not looked
// at when USaPP's defaults were chosen. Run with -v to see the table:
//
//	go test ./privacy/eval -run xxx -bench PopulationHeldOut -benchtime 1x -v
func BenchmarkPopulationHeldOut(b *testing.B) {
	days := traces(syntheticDays(b, populationSeeds+1, populationSeeds+40))
	algos := append(baselines(), energy.USaPP{})
	var pop *population
	for b.Loop() {
		pop = measurePopulation(b, days, algos, energy.DefaultBattery())
	}
	b.Log("\n" + pop.table().String())
}

// BenchmarkUSaPPTradeOff shows where USaPP's knobs move it over the same
// population: a coarser level grid (Quantum, with Hysteresis kept at one
// quantum, as in the defaults) and a longer Settle, the time a new demand level must last before
// the level follows it. Run with -v to see the table:
//
//	go test ./privacy/eval -run xxx -bench USaPPTradeOff -benchtime 1x -v
func BenchmarkUSaPPTradeOff(b *testing.B) {
	days := populationDays(b)
	algos := baselines()
	for _, settle := range []time.Duration{5 * time.Minute, 10 * time.Minute, 20 * time.Minute} {
		for _, q := range []float64{200, 300} {
			u := energy.USaPP{Settle: settle, Quantum: q, Hysteresis: q}
			algos = append(algos, Setting{"usapp", fmt.Sprintf("%v/%gW", settle, q), u})
		}
	}
	var pop *population
	for b.Loop() {
		pop = measurePopulation(b, days, algos, energy.DefaultBattery())
	}
	tab := pop.table()
	b.Log("\n" + tab.String())
}

// BenchmarkPopulationBySize is the population's mean worst-attacker F1,
// MI and extra energy per algorithm at every capacity of the privacy-vs-
// battery curve (power fixed at 3 kW). Run with -v to see the table:
//
//	go test ./privacy/eval -run xxx -bench PopulationBySize -benchtime 1x -v
func BenchmarkPopulationBySize(b *testing.B) {
	days := populationDays(b)
	algos := energy.Algorithms()
	tab := &strings.Builder{}
	for b.Loop() {
		tab.Reset()
		fmt.Fprintf(tab, "%d days; cells: mean F1 / mean MI bits / mean extra energy %%\n%-6s", len(days), "kWh")
		for _, a := range algos {
			fmt.Fprintf(tab, " %20s", a.Name())
		}
		for _, bat := range Batteries(energy.DefaultBattery(), SweepCapacitiesKWh) {
			pop := measurePopulation(b, days, algos, bat)
			fmt.Fprintf(tab, "\n%-6g", bat.CapacityKWh)
			for _, a := range algos {
				st := pop.stats[a.Name()]
				n := float64(st.days)
				fmt.Fprintf(tab, " %20s", fmt.Sprintf("%.3f/%.3f/%.2f", st.f1/n, st.mi/n, st.energy/n))
			}
		}
	}
	b.Log("\n" + tab.String())
}

// BenchmarkPopulationByEfficiency is BenchmarkPopulation's table for
// USaPP and the baselines at three round-trip efficiencies: 0.85 and 0.9
// (AC-coupled home batteries) and 0.95 (DC-coupled). Extra energy is the
// battery's losses, so the energy target is a target on η as much as on the
// algorithm. Run with -v to see the tables:
//
//	go test ./privacy/eval -run xxx -bench PopulationByEfficiency -benchtime 1x -v
func BenchmarkPopulationByEfficiency(b *testing.B) {
	days := populationDays(b)
	algos := append(baselines(), energy.USaPP{})
	tab := &strings.Builder{}
	for b.Loop() {
		tab.Reset()
		for _, eta := range []float64{0.85, 0.9, 0.95} {
			bat := energy.DefaultBattery()
			bat.RoundTripEfficiency = eta
			fmt.Fprintf(tab, "\nround-trip efficiency %g: ", eta)
			tab.WriteString(measurePopulation(b, days, algos, bat).table().String())
		}
	}
	b.Log(tab.String())
}

// BenchmarkUSaPPSettingsHindsight bounds what tuning USaPP's knobs could
// reach on the population: for every day it picks, with hindsight, the best
// of 48 settings (Settle 3-20 min x Quantum 150-400 W x PriceShift
// 0.25-1) and counts the days on which some setting meets all three targets,
// and those on which one also beats best-effort, NILL and stepping on
// adaptive F1 and MI. No causal rule for choosing the setting can do better
// than this count. Run with -v to see the counts:
//
//	go test ./privacy/eval -run xxx -bench USaPPSettingsHindsight -benchtime 1x -v
func BenchmarkUSaPPSettingsHindsight(b *testing.B) {
	days := populationDays(b)
	settings := usappGrid(0.25, 0.5, 1)
	var reach, reachBeats, defaults int
	for b.Loop() {
		reach, reachBeats, defaults = 0, 0, 0
		for _, tr := range days {
			rows, err := Evaluate(tr, energy.DefaultBattery(), append(append(baselines(), energy.USaPP{}), settings...), nilm.Attackers(), Options{})
			if err != nil {
				b.Fatal(err)
			}
			var any, anyBeats bool
			for _, s := range DesignTarget.Stand(rows, GoalBaselines) {
				switch {
				case !s.All():
				case s.Worst.Algorithm == "usapp":
					defaults++
				default:
					any, anyBeats = true, anyBeats || (s.BeatsF1 && s.BeatsMI)
				}
			}
			reach, reachBeats = reach+b2i(any), reachBeats+b2i(anyBeats)
		}
	}
	b.Logf("%d days: defaults meet all three targets on %d; the best of %d settings, chosen per day with hindsight, on %d, and also beats the baselines on F1 and MI on %d",
		len(days), defaults, len(settings), reach, reachBeats)
	b.ReportMetric(float64(reach), "days-all-targets")
	b.ReportMetric(float64(reachBeats), "days-all-targets+beats")
}

// usappGrid is USaPP over Settle 3-20 min × Quantum 150-400 W (hysteresis
// one quantum, as in the defaults) × the given price shifts: 16 settings per price shift.
func usappGrid(priceShifts ...float64) []energy.Algorithm {
	var settings []energy.Algorithm
	for _, settle := range []time.Duration{3 * time.Minute, 5 * time.Minute, 10 * time.Minute, 20 * time.Minute} {
		for _, q := range []float64{150, 200, 300, 400} {
			for _, ps := range priceShifts {
				u := energy.USaPP{Settle: settle, Quantum: q, Hysteresis: q, PriceShift: ps}
				settings = append(settings, Setting{"usapp", fmt.Sprintf("%v/%gW/%g", settle, q, ps), u})
			}
		}
	}
	return settings
}

// populationDays is the UK-DALE day and synthetic seeds 1..populationSeeds.
func populationDays(tb testing.TB) []*household.Trace { return traces(testDays(tb, populationSeeds)) }

func traces(days []testDay) []*household.Trace {
	out := make([]*household.Trace, len(days))
	for i, d := range days {
		out[i] = d.trace
	}
	return out
}

// baselines are GoalBaselines as algorithms with their default parameters.
func baselines() []energy.Algorithm {
	out := make([]energy.Algorithm, len(GoalBaselines))
	for i, name := range GoalBaselines {
		a, err := energy.Lookup(name)
		if err != nil {
			panic(err)
		}
		out[i] = a
	}
	return out
}

// population is every algorithm's worst-attacker figures summed over days,
// and on how many days each beat best-effort, NILL and stepping against the
// adaptive attacker.
type population struct {
	days  int
	stats map[string]*populationStats
	order []string
}

func measurePopulation(b testing.TB, days []*household.Trace, algos []energy.Algorithm, bat energy.Battery) *population {
	pop := &population{}
	for _, tr := range days {
		rows, err := Evaluate(tr, bat, algos, nilm.Attackers(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		pop.addDay(DesignTarget.Stand(rows, GoalBaselines))
	}
	return pop
}

// addDay takes every algorithm's standing on one more day.
func (pop *population) addDay(standings []Standing) {
	if pop.stats == nil {
		pop.stats = map[string]*populationStats{}
	}
	pop.days++
	for _, s := range standings {
		name := s.Worst.Algorithm
		st := pop.stats[name]
		if st == nil {
			st = &populationStats{}
			pop.stats[name] = st
			pop.order = append(pop.order, name)
		}
		st.add(s)
	}
}

// verdict says whether the algorithm named meets the whole goal on
// its means over the population (the three targets, and mean adaptive F1
// and mean MI below each baseline's) and, in words, which conditions fail.
func (pop *population) verdict(name string) (bool, string) {
	u := pop.stats[name]
	if u == nil {
		return false, name + " not measured"
	}
	n := float64(u.days)
	var failed []string
	check := func(ok bool, format string, args ...any) {
		if !ok {
			failed = append(failed, fmt.Sprintf(format, args...))
		}
	}
	f1, mi, extra, ad := u.f1/n, u.mi/n, u.energy/n, u.adF1/n
	check(f1 <= DesignTarget.F1, "worst F1 %.3f", f1)
	check(mi <= DesignTarget.MIBits, "MI %.3f bits", mi)
	check(extra <= DesignTarget.ExtraEnergyPct, "extra energy %.2f %%", extra)
	for _, base := range GoalBaselines {
		bs := pop.stats[base]
		if bs == nil {
			check(false, "%s not measured", base)
			continue
		}
		bn := float64(bs.days)
		check(ad < bs.adF1/bn, "adaptive F1 %.3f not below %s's %.3f", ad, base, bs.adF1/bn)
		check(mi < bs.mi/bn, "MI %.3f not below %s's %.3f", mi, base, bs.mi/bn)
	}
	figures := fmt.Sprintf("(%s: worst F1 %.3f, MI %.3f bits, extra %.2f %%, adaptive F1 %.3f)", name, f1, mi, extra, ad)
	if len(failed) == 0 {
		return true, "met " + figures
	}
	return false, "not met: " + strings.Join(failed, "; ") + " " + figures
}

func (pop *population) table() *strings.Builder {
	tab := &strings.Builder{}
	fmt.Fprintf(tab, "%d days; targets F1 <= %g, MI <= %g bits, extra energy <= %g %%; beats = days below best-effort, nill and stepping (adaptive attacker)\n", pop.days, DesignTarget.F1, DesignTarget.MIBits, DesignTarget.ExtraEnergyPct)
	fmt.Fprintf(tab, "%-20s %8s %8s %8s %9s %6s %6s %6s %6s %9s %9s\n", "algorithm", "mean F1", "mean MI", "mean EE%", "mean cost", "F1 ok", "MI ok", "EE ok", "all", "beats F1", "beats MI")
	for _, name := range pop.order {
		st := pop.stats[name]
		n := float64(st.days)
		fmt.Fprintf(tab, "%-20s %8.3f %8.3f %8.2f %9.3f %6d %6d %6d %6d %9d %9d\n", name, st.f1/n, st.mi/n, st.energy/n, st.cost/n, st.okF1, st.okMI, st.okEnergy, st.okAll, st.beatsF1, st.beatsMI)
	}
	return tab
}

type populationStats struct {
	days                        int
	f1, mi, energy, cost        float64
	okF1, okMI, okEnergy, okAll int
	beatsF1, beatsMI            int // days below every baseline (adaptive attacker)
	whole                       int // days meeting the whole goal
	adF1                        float64
}

// add takes an algorithm's standing on one day.
func (s *populationStats) add(st Standing) {
	r := st.Worst
	s.days++
	s.f1, s.mi, s.energy, s.cost = s.f1+r.F1, s.mi+r.MIBits, s.energy+r.ExtraEnergyPct, s.cost+r.Cost
	s.okF1, s.okMI, s.okEnergy = s.okF1+b2i(st.F1), s.okMI+b2i(st.MI), s.okEnergy+b2i(st.Energy)
	s.okAll += b2i(st.All())
	s.beatsF1, s.beatsMI = s.beatsF1+b2i(st.BeatsF1), s.beatsMI+b2i(st.BeatsMI)
	s.whole += b2i(st.WholeGoal())
	s.adF1 += st.Adaptive.F1
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

package eval

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/usapp/usapp/control/energy"
	"github.com/usapp/usapp/privacy/nilm"
)

// frontierFamilies are the settings BenchmarkPopulationFrontier sweeps, per
// algorithm: each family's own knobs over the ranges its paper or doc
// comment suggests, so that each is compared at its best for a given
// energy, not at our choice of its defaults.
func frontierFamilies() map[string][]renamed {
	fam := map[string][]renamed{"best-effort": {{energy.BestEffort{}, "best-effort"}}}
	for _, settle := range []time.Duration{3 * time.Minute, 5 * time.Minute, 10 * time.Minute, 20 * time.Minute} {
		for _, q := range []float64{150, 200, 300, 400} {
			fam["usapp"] = append(fam["usapp"], renamed{energy.USaPP{Settle: settle, Quantum: q, Hysteresis: 1.25 * q}, fmt.Sprintf("usapp %v/%gW", settle, q)})
		}
	}
	for _, beta := range []float64{200, 300, 400, 600, 800} {
		for _, guard := range []float64{0.05, 0.15, 0.3} {
			fam["stepping"] = append(fam["stepping"], renamed{energy.Stepping{Beta: beta, Guard: guard}, fmt.Sprintf("stepping %gW/%g", beta, guard)})
		}
	}
	for _, band := range []float64{0.15, 0.3, 0.45} {
		for _, rec := range []float64{100, 150, 300} {
			for _, avg := range []time.Duration{30 * time.Minute, time.Hour} {
				fam["nill"] = append(fam["nill"], renamed{energy.NILL{Band: band, Recovery: rec, Average: avg}, fmt.Sprintf("nill %g/%gW/%v", band, rec, avg)})
			}
		}
	}
	for _, hold := range []time.Duration{10 * time.Minute, 20 * time.Minute, 40 * time.Minute} {
		for _, spread := range []float64{150, 300, 600} {
			fam["random"] = append(fam["random"], renamed{energy.Random{MeanHold: hold, Spread: spread}, fmt.Sprintf("random %v/%gW", hold, spread)})
		}
	}
	return fam
}

// BenchmarkPopulationFrontier asks whether ours wins at the same energy:
// for every algorithm family swept over its own settings on the population
// (UK-DALE and synthetic 1–20, default battery, worst attacker per day), the
// lowest mean MI any of its settings reaches within each cap on mean extra
// energy, with that setting's mean worst-attacker F1. Run with -v:
//
//	go test ./privacy/eval -run xxx -bench PopulationFrontier -benchtime 1x -v
func BenchmarkPopulationFrontier(b *testing.B) {
	days := populationDays(b)
	fams := frontierFamilies()
	algos := baselines() // Stand needs the defaults by name
	for _, f := range fams {
		for _, r := range f {
			algos = append(algos, r)
		}
	}
	var pop *population
	for b.Loop() {
		pop = measurePopulation(b, days, algos, energy.DefaultBattery())
	}
	caps := []float64{2.5, 3, 3.5, 4, 5}
	var tab strings.Builder
	tab.WriteString("| family |")
	for _, c := range caps {
		fmt.Fprintf(&tab, " ≤ %g %% |", c)
	}
	tab.WriteString("\n|---|" + strings.Repeat("---|", len(caps)) + "\n")
	names := slices.Sorted(maps.Keys(fams))
	var settings strings.Builder
	for _, fam := range names {
		fmt.Fprintf(&tab, "| %s |", fam)
		for _, c := range caps {
			best, ok := bestWithin(pop, fams[fam], c)
			if !ok {
				tab.WriteString(" – |")
				continue
			}
			st, n := pop.stats[best], float64(pop.stats[best].days)
			fmt.Fprintf(&tab, " %.3f (F1 %.3f) |", st.mi/n, st.f1/n)
			fmt.Fprintf(&settings, "%s ≤ %g %%: %s, MI %.3f, EE %.2f %%, F1 %.3f, all three on %d days\n", fam, c, best, st.mi/n, st.energy/n, st.f1/n, st.okAll)
		}
		tab.WriteString("\n")
	}
	b.Logf("lowest mean MI bits (mean worst F1) within each mean extra-energy cap, %d days:\n%s\n%s", pop.days, tab.String(), settings.String())
}

// bestWithin is the setting of a family with the lowest mean MI among those
// whose mean extra energy is within limit.
func bestWithin(pop *population, family []renamed, limit float64) (string, bool) {
	var in []string
	for _, r := range family {
		st := pop.stats[r.name]
		if st.energy/float64(st.days) <= limit {
			in = append(in, r.name)
		}
	}
	if len(in) == 0 {
		return "", false
	}
	return slices.MinFunc(in, func(a, c string) int {
		return cmp.Compare(pop.stats[a].mi, pop.stats[c].mi)
	}), true
}

// BenchmarkMatchedEnergyDays is the per-day comparison made at
// equal cost: on each day of the population, ours at its defaults against
// every setting of each family (frontierFamilies) that spent no more extra
// energy than ours did that day, on the adaptive attacker's F1 and on MI.
// A family with no setting that cheap cannot hide at ours' cost that day,
// and is counted apart. Run with -v:
//
//	go test ./privacy/eval -run xxx -bench MatchedEnergyDays -benchtime 1x -v
func BenchmarkMatchedEnergyDays(b *testing.B) {
	days := populationDays(b)
	fams := frontierFamilies()
	algos := []energy.Algorithm{energy.USaPP{}}
	for _, f := range fams {
		for _, r := range f {
			algos = append(algos, r)
		}
	}
	names := slices.DeleteFunc(slices.Sorted(maps.Keys(fams)), func(n string) bool { return n == energy.USaPP{}.Name() })
	// Per family: setting-days as cheap as ours, those where ours is lower
	// on MI and on F1, days with any such setting, and of those the days
	// ours beats them all on both.
	type tally struct{ cheaper, mi, f1, days, both int }
	var count map[string]*tally
	var allBaselines int
	for b.Loop() {
		count, allBaselines = map[string]*tally{}, 0
		for _, n := range names {
			count[n] = &tally{}
		}
		for _, tr := range days {
			rows, err := Evaluate(tr, energy.DefaultBattery(), algos, []nilm.Attacker{nilm.Adaptive{}}, Options{})
			if err != nil {
				b.Fatal(err)
			}
			by := map[string]Row{}
			for _, r := range rows {
				by[r.Algorithm] = r
			}
			ours := by[energy.USaPP{}.Name()]
			beatsGoal := true
			for _, fam := range names {
				t, won, any := count[fam], true, false
				for _, s := range fams[fam] {
					r := by[s.name]
					if r.ExtraEnergyPct > ours.ExtraEnergyPct {
						continue
					}
					t.cheaper, any = t.cheaper+1, true
					won = won && ours.MIBits < r.MIBits && ours.F1 < r.F1
					if ours.MIBits < r.MIBits {
						t.mi++
					}
					if ours.F1 < r.F1 {
						t.f1++
					}
				}
				if any {
					t.days++
					if won {
						t.both++
					}
				}
				if slices.Contains(GoalBaselines, fam) {
					beatsGoal = beatsGoal && won
				}
			}
			if beatsGoal {
				allBaselines++
			}
		}
	}
	var tab strings.Builder
	fmt.Fprintf(&tab, "| family | setting-days as cheap as ours | ours lower MI | ours lower F1 | days with such a setting | of which ours beats them all on both |\n|---|---|---|---|---|---|\n")
	for _, fam := range names {
		t := count[fam]
		fmt.Fprintf(&tab, "| %s | %d | %d | %d | %d | %d |\n", fam, t.cheaper, t.mi, t.f1, t.days, t.both)
	}
	fmt.Fprintf(&tab, "\ndays (of %d) ours beats every setting of best-effort, NILL and stepping that spent no more: %d\n", len(days), allBaselines)
	b.Logf("ours (defaults) against each family's settings at no more extra energy, adaptive attacker:\n%s", tab.String())
}

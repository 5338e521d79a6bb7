package eval

import (
	"fmt"
	"math"
	"strings"
	"testing"

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
	days := []*household.Trace{}
	tr, _, err := Builtin(SourceUKDALE, 0)
	if err != nil {
		b.Fatal(err)
	}
	days = append(days, tr)
	for s := int64(1); s <= populationSeeds; s++ {
		tr, _, _ := Builtin(SourceSynthetic, s)
		days = append(days, tr)
	}
	bat := energy.DefaultBattery()
	var stats map[string]*populationStats
	var order []string
	var reachable, beatsF1, beatsMI int
	for b.Loop() {
		stats, order, reachable, beatsF1, beatsMI = map[string]*populationStats{}, nil, 0, 0, 0
		for _, tr := range days {
			rows, err := Evaluate(tr, bat, energy.Algorithms(), nilm.Attackers(), Options{})
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range Worst(rows) {
				st := stats[r.Algorithm]
				if st == nil {
					st = &populationStats{}
					stats[r.Algorithm] = st
					order = append(order, r.Algorithm)
				}
				st.add(r)
			}
			f1, mi := beatsBaselines(rows)
			beatsF1, beatsMI = beatsF1+b2i(f1), beatsMI+b2i(mi)
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
	var tab strings.Builder
	fmt.Fprintf(&tab, "%d days; targets F1 <= %g, MI <= %g bits, extra energy <= %g %%\n", len(days), DesignTarget.F1, DesignTarget.MIBits, DesignTarget.ExtraEnergyPct)
	fmt.Fprintf(&tab, "%-12s %8s %8s %8s %6s %6s %6s %6s\n", "algorithm", "mean F1", "mean MI", "mean EE%", "F1 ok", "MI ok", "EE ok", "all")
	for _, name := range order {
		st := stats[name]
		n := float64(st.days)
		fmt.Fprintf(&tab, "%-12s %8.3f %8.3f %8.2f %6d %6d %6d %6d\n", name, st.f1/n, st.mi/n, st.energy/n, st.okF1, st.okMI, st.okEnergy, st.okAll)
	}
	fmt.Fprintf(&tab, "usapp beats best-effort, nill and stepping against the adaptive attacker: on F1 on %d days, on MI on %d days\n", beatsF1, beatsMI)
	fmt.Fprintf(&tab, "non-causal reference meets MI and energy targets on %d of %d days\n", reachable, len(days))
	b.Log("\n" + tab.String())
	if u := stats["usapp"]; u != nil {
		n := float64(u.days)
		b.ReportMetric(u.f1/n, "usapp-mean-F1")
		b.ReportMetric(u.mi/n, "usapp-mean-MI-bits")
		b.ReportMetric(u.energy/n, "usapp-mean-extra-%")
		b.ReportMetric(float64(u.okAll), "usapp-days-all-targets")
	}
	b.ReportMetric(float64(reachable), "reference-days-MI+energy")
}

// beatsBaselines reports whether usapp's adaptive-attacker F1 and its MI
// are strictly below those of best-effort, NILL and stepping on one day.
func beatsBaselines(rows []Row) (f1, mi bool) {
	at := map[string]Row{}
	for _, r := range rows {
		if r.Attacker == "adaptive" {
			at[r.Algorithm] = r
		}
	}
	u := at["usapp"]
	f1, mi = true, true
	for _, base := range []string{"best-effort", "nill", "stepping"} {
		f1 = f1 && u.F1 < at[base].F1
		mi = mi && u.MIBits < at[base].MIBits
	}
	return f1, mi
}

type populationStats struct {
	days                        int
	f1, mi, energy              float64
	okF1, okMI, okEnergy, okAll int
}

// add takes an algorithm's worst-attacker row for one day.
func (s *populationStats) add(r Row) {
	s.days++
	s.f1, s.mi, s.energy = s.f1+r.F1, s.mi+r.MIBits, s.energy+r.ExtraEnergyPct
	f, m, e := r.F1 <= DesignTarget.F1, r.MIBits <= DesignTarget.MIBits, r.ExtraEnergyPct <= DesignTarget.ExtraEnergyPct && !math.IsNaN(r.ExtraEnergyPct)
	s.okF1, s.okMI, s.okEnergy = s.okF1+b2i(f), s.okMI+b2i(m), s.okEnergy+b2i(e)
	s.okAll += b2i(f && m && e)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

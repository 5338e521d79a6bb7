package eval

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/usapp/usapp/control/energy"
	"github.com/usapp/usapp/privacy/nilm"
)

func TestFrontierKeepsOnlyUndominatedSettings(t *testing.T) {
	m := func(fam, label string, ee, mi float64) SettingMeans {
		return SettingMeans{Family: fam, Label: label, ExtraEnergyPct: ee, MIBits: mi}
	}
	means := []SettingMeans{
		m("a", "cheap", 2, 0.6),
		m("a", "dear", 4, 0.3),
		m("a", "worse", 3, 0.7), // beaten by cheap on both
		m("a", "tie", 4, 0.3),   // equal to dear: neither dominates
		m("a", "same-mi", 5, 0.3),
		m("b", "only", 9, 0.9), // another family's settings never dominate
	}
	var got []string
	for _, f := range Frontier(means) {
		got = append(got, f.Family+" "+f.Label)
	}
	want := []string{"a cheap", "a dear", "a tie", "b only"}
	if !slices.Equal(got, want) {
		t.Fatalf("frontier %v, want %v", got, want)
	}
	if best, ok := BestWithin(means, "a", 3.5); !ok || best.Label != "cheap" {
		t.Errorf("best of a within 3.5 %%: %+v, %v", best, ok)
	}
	if best, ok := BestWithin(means, "a", 4); !ok || best.Label != "dear" {
		t.Errorf("best of a within 4 %%: %+v, %v", best, ok)
	}
	if _, ok := BestWithin(means, "b", 5); ok {
		t.Error("b has no setting within 5 %")
	}
	if f := Families(means); !slices.Equal(f, []string{"a", "b"}) {
		t.Errorf("families %v", f)
	}
}

// TestMeasureSettingsAveragesWorstRows checks the means against Evaluate's
// own rows on two days, by hand.
func TestMeasureSettingsAveragesWorstRows(t *testing.T) {
	days := traces(testDays(t, 1))
	bat := energy.DefaultBattery()
	settings := []Setting{{"stepping", "400W", energy.Stepping{Beta: 400}}, {"stepping", "800W", energy.Stepping{Beta: 800}}}
	attackers := nilm.Attackers()
	var calls int
	means, err := MeasureSettings(days, bat, settings, attackers, DesignTarget, Options{}, func(done, total int) {
		calls++
		if done != calls || total != len(days) {
			t.Errorf("progress %d/%d at call %d", done, total, calls)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range settings {
		var f1, mi, ee float64
		within := 0
		for _, tr := range days {
			rows, err := Evaluate(tr, bat, []energy.Algorithm{s}, attackers, Options{})
			if err != nil {
				t.Fatal(err)
			}
			w := Worst(rows)[1]
			f1, mi, ee = f1+w.F1/2, mi+w.MIBits/2, ee+w.ExtraEnergyPct/2
			if w.F1 <= DesignTarget.F1 && w.MIBits <= DesignTarget.MIBits && w.ExtraEnergyPct <= DesignTarget.ExtraEnergyPct {
				within++
			}
		}
		got := means[i]
		if got.Family != "stepping" || got.Label != s.Label || got.Days != 2 || got.WithinTarget != within ||
			math.Abs(got.F1-f1) > 1e-12 || math.Abs(got.MIBits-mi) > 1e-12 || math.Abs(got.ExtraEnergyPct-ee) > 1e-12 {
			t.Errorf("%s: %+v, want F1 %.4f MI %.4f EE %.4f within %d", s.Name(), got, f1, mi, ee, within)
		}
	}
	if means[0] == means[1] {
		t.Error("two settings of different β measured the same")
	}
}

func TestMeasureSettingsRejectsBadInput(t *testing.T) {
	days := traces(testDays(t, 0))
	bat := energy.DefaultBattery()
	one := []Setting{{"stepping", "x", energy.Stepping{}}}
	for name, call := range map[string]func() error{
		"no traces": func() error {
			_, err := MeasureSettings(nil, bat, one, nilm.Attackers(), DesignTarget, Options{}, nil)
			return err
		},
		"no settings": func() error {
			_, err := MeasureSettings(days, bat, nil, nilm.Attackers(), DesignTarget, Options{}, nil)
			return err
		},
		"no attacker": func() error { _, err := MeasureSettings(days, bat, one, nil, DesignTarget, Options{}, nil); return err },
		"duplicate": func() error {
			_, err := MeasureSettings(days, bat, append(one, one...), nilm.Attackers(), DesignTarget, Options{}, nil)
			return err
		},
	} {
		if err := call(); !errors.Is(err, ErrOptions) {
			t.Errorf("%s: err %v, want ErrOptions", name, err)
		}
	}
}

func TestSettingsAreUniqueAndIncludeTheDefaults(t *testing.T) {
	seen := map[string]Setting{}
	for _, s := range Settings() {
		if _, ok := seen[s.Name()]; ok {
			t.Errorf("setting %q twice", s.Name())
		}
		seen[s.Name()] = s
		if _, err := energy.Lookup(s.Family); err != nil {
			t.Errorf("family %q is not a registered algorithm: %v", s.Family, err)
		}
	}
	// A setting is the family's defaults when it hides the goal days exactly as
	// the registered algorithm does; a name alone would not notice a default
	// that moved.
	days := testDays(t, 5)
	for _, name := range []string{"usapp 5m0s/200W", "stepping 400W/0.15", "nill 0.3/150W/1h0m0s", "random 20m0s/300W", "best-effort -"} {
		s, ok := seen[name]
		if !ok {
			t.Errorf("defaults %q missing from the sweep", name)
			continue
		}
		def, _ := energy.Lookup(s.Family)
		for _, d := range days {
			run := energy.Run{Demand: d.trace.Mains, Step: d.trace.Step, ReturnSoC: true}
			got, err := s.Hide(energy.DefaultBattery(), run)
			if err != nil {
				t.Fatal(err)
			}
			want, err := def.Hide(energy.DefaultBattery(), run)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Metered, want.Metered) {
				t.Errorf("%q hides %s differently from %s's defaults", name, d.name, s.Family)
			}
		}
	}
}

// BenchmarkPopulationFrontier asks whether ours wins at the same energy:
// for every family swept over its own settings (Settings) on the population
// (UK-DALE and synthetic 1–20, default battery, worst attacker per day), the
// lowest mean MI any of its settings reaches within each cap on mean extra
// energy, with that setting's mean worst-attacker F1. Run with -v (usapp
// privacy frontier prints the same table):
//
//	go test ./privacy/eval -run xxx -bench PopulationFrontier -benchtime 1x -v
func BenchmarkPopulationFrontier(b *testing.B) {
	days := populationDays(b)
	var means []SettingMeans
	for b.Loop() {
		var err error
		if means, err = MeasureSettings(days, energy.DefaultBattery(), Settings(), nilm.Attackers(), DesignTarget, Options{}, nil); err != nil {
			b.Fatal(err)
		}
	}
	var tab strings.Builder
	caps := []float64{2.5, 3, 3.5, 4, 5}
	tab.WriteString("| family |")
	for _, c := range caps {
		fmt.Fprintf(&tab, " ≤ %g %% |", c)
	}
	tab.WriteString("\n|---|" + strings.Repeat("---|", len(caps)) + "\n")
	for _, fam := range Families(means) {
		fmt.Fprintf(&tab, "| %s |", fam)
		for _, c := range caps {
			if m, ok := BestWithin(means, fam, c); ok {
				fmt.Fprintf(&tab, " %.3f (F1 %.3f) |", m.MIBits, m.F1)
			} else {
				tab.WriteString(" – |")
			}
		}
		tab.WriteString("\n")
	}
	b.Logf("lowest mean MI bits (mean worst F1) within each mean extra-energy cap, %d days:\n%s", len(days), tab.String())
}

// BenchmarkMatchedEnergyDays is the per-day comparison made at
// equal cost: on each day of the population, ours at its defaults against
// every setting of each published family (Settings) that spent no more
// extra energy than ours did that day, on the adaptive attacker's F1 and on
// MI. A family with no setting that cheap cannot hide at ours' cost that
// day, and is counted apart. Run with -v:
//
//	go test ./privacy/eval -run xxx -bench MatchedEnergyDays -benchtime 1x -v
func BenchmarkMatchedEnergyDays(b *testing.B) {
	days := populationDays(b)
	ours := energy.USaPP{}
	algos := []energy.Algorithm{ours}
	byFamily := map[string][]string{}
	var families []string
	for _, s := range Settings() {
		if s.Family == ours.Name() {
			continue
		}
		if byFamily[s.Family] == nil {
			families = append(families, s.Family)
		}
		algos = append(algos, s)
		byFamily[s.Family] = append(byFamily[s.Family], s.Name())
	}
	// Per family: setting-days as cheap as ours, those where ours is lower
	// on MI and on F1, days with any such setting, and of those the days
	// ours beats them all on both.
	type tally struct{ cheaper, mi, f1, days, both int }
	var count map[string]*tally
	var allBaselines int
	for b.Loop() {
		count, allBaselines = map[string]*tally{}, 0
		for _, tr := range days {
			rows, err := Evaluate(tr, energy.DefaultBattery(), algos, []nilm.Attacker{nilm.Adaptive{}}, Options{})
			if err != nil {
				b.Fatal(err)
			}
			by := map[string]Row{}
			for _, r := range rows {
				by[r.Algorithm] = r
			}
			own, beatsGoal := by[ours.Name()], true
			for _, fam := range families {
				if count[fam] == nil {
					count[fam] = &tally{}
				}
				t, won, any := count[fam], true, false
				for _, name := range byFamily[fam] {
					r := by[name]
					if r.ExtraEnergyPct > own.ExtraEnergyPct {
						continue
					}
					t.cheaper, any = t.cheaper+1, true
					won = won && own.MIBits < r.MIBits && own.F1 < r.F1
					t.mi += b2i(own.MIBits < r.MIBits)
					t.f1 += b2i(own.F1 < r.F1)
				}
				if any {
					t.days++
					t.both += b2i(won)
				}
				if slices.Contains(GoalBaselines, fam) {
					beatsGoal = beatsGoal && won
				}
			}
			allBaselines += b2i(beatsGoal)
		}
	}
	var tab strings.Builder
	fmt.Fprintf(&tab, "| family | setting-days as cheap as ours | ours lower MI | ours lower F1 | days with such a setting | of which ours beats them all on both |\n|---|---|---|---|---|---|\n")
	for _, fam := range families {
		t := count[fam]
		fmt.Fprintf(&tab, "| %s | %d | %d | %d | %d | %d |\n", fam, t.cheaper, t.mi, t.f1, t.days, t.both)
	}
	fmt.Fprintf(&tab, "\ndays (of %d) ours beats every setting of best-effort, NILL and stepping that spent no more: %d\n", len(days), allBaselines)
	b.Logf("ours (defaults) against each family's settings at no more extra energy, adaptive attacker:\n%s", tab.String())
}

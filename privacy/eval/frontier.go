package eval

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/usapp/usapp/control/energy"
	"github.com/usapp/usapp/privacy/nilm"
	"github.com/usapp/usapp/sim/household"
)

// Setting is one hiding algorithm with one choice of its knobs: a point on
// its family's trade-off between privacy and energy.
type Setting struct {
	Family string // the algorithm's registry name ("stepping")
	Label  string // the knobs, unique within the family ("400W/0.15")
	energy.Algorithm
}

// Name is "family label", so that every setting gets its own rows.
func (s Setting) Name() string { return s.Family + " " + s.Label }

// Settings is the sweep [MeasureSettings] runs by default: every published
// family over its own knobs, in the ranges its paper or doc comment
// suggests, and ours over Settle and Quantum, so that each family is compared
// at its best for a given energy rather than at its defaults. Each family's
// defaults are among its settings.
func Settings() []Setting {
	out := []Setting{{"best-effort", "-", energy.BestEffort{}}}
	for _, settle := range []time.Duration{3 * time.Minute, 5 * time.Minute, 10 * time.Minute, 20 * time.Minute} {
		for _, q := range []float64{150, 200, 300, 400} {
			out = append(out, Setting{"usapp", fmt.Sprintf("%v/%gW", settle, q), energy.USaPP{Settle: settle, Quantum: q, Hysteresis: q}})
		}
	}
	for _, beta := range []float64{200, 300, 400, 600, 800} {
		for _, guard := range []float64{0.05, 0.15, 0.3} {
			out = append(out, Setting{"stepping", fmt.Sprintf("%gW/%g", beta, guard), energy.Stepping{Beta: beta, Guard: guard}})
		}
	}
	for _, band := range []float64{0.15, 0.3, 0.45} {
		for _, rec := range []float64{100, 150, 300} {
			for _, avg := range []time.Duration{30 * time.Minute, time.Hour} {
				out = append(out, Setting{"nill", fmt.Sprintf("%g/%gW/%v", band, rec, avg), energy.NILL{Band: band, Recovery: rec, Average: avg}})
			}
		}
	}
	for _, hold := range []time.Duration{10 * time.Minute, 20 * time.Minute, 40 * time.Minute} {
		for _, spread := range []float64{150, 300, 600} {
			out = append(out, Setting{"random", fmt.Sprintf("%v/%gW", hold, spread), energy.Random{MeanHold: hold, Spread: spread}})
		}
	}
	return out
}

// SettingMeans is one setting's figures averaged over a set of days, each
// day taken at its worst attacker (the one with the highest F1).
type SettingMeans struct {
	Family         string  `json:"family"`
	Label          string  `json:"setting"`
	Days           int     `json:"days"`
	F1             float64 `json:"f1"`
	MIBits         float64 `json:"mi_bits"`
	ExtraEnergyPct float64 `json:"extra_energy_pct"`
	// WithinTarget counts the days on which the setting met every goal of
	// the target MeasureSettings was given.
	WithinTarget int `json:"days_within_target"`
}

// MeasureSettings evaluates every setting on every trace with battery b and
// the attackers, and returns each setting's means in the order given,
// calling progress (if not nil) after each trace.
func MeasureSettings(traces []*household.Trace, b energy.Battery, settings []Setting, attackers []nilm.Attacker, target Target, opts Options, progress func(done, total int)) ([]SettingMeans, error) {
	if len(traces) == 0 || len(settings) == 0 || len(attackers) == 0 {
		return nil, fmt.Errorf("%w: a frontier needs at least one trace, setting and attacker", ErrOptions)
	}
	algos := make([]energy.Algorithm, len(settings))
	index := make(map[string]int, len(settings))
	for i, s := range settings {
		if _, dup := index[s.Name()]; dup {
			return nil, fmt.Errorf("%w: setting %q appears twice", ErrOptions, s.Name())
		}
		algos[i], index[s.Name()] = s, i
	}
	out := make([]SettingMeans, len(settings))
	for i, s := range settings {
		out[i] = SettingMeans{Family: s.Family, Label: s.Label}
	}
	for k, tr := range traces {
		rows, err := Evaluate(tr, b, algos, attackers, opts)
		if err != nil {
			return nil, fmt.Errorf("trace %s: %w", tr.Name, err)
		}
		for _, st := range target.Stand(rows, nil) {
			i, ok := index[st.Worst.Algorithm]
			if !ok { // "none"
				continue
			}
			m := &out[i]
			m.Days++
			m.F1 += st.Worst.F1
			m.MIBits += st.Worst.MIBits
			m.ExtraEnergyPct += st.Worst.ExtraEnergyPct
			if st.All() {
				m.WithinTarget++
			}
		}
		if progress != nil {
			progress(k+1, len(traces))
		}
	}
	for i := range out {
		if n := float64(out[i].Days); n > 0 {
			out[i].F1, out[i].MIBits, out[i].ExtraEnergyPct = out[i].F1/n, out[i].MIBits/n, out[i].ExtraEnergyPct/n
		}
	}
	return out, nil
}

// Frontier returns, for each family in means, its settings that no other
// setting of the same family beats on both mean extra energy and mean MI
// (lower or equal on both, lower on one), sorted by family and then by
// extra energy: the family's best trade-off, the curve to compare families
// on.
func Frontier(means []SettingMeans) []SettingMeans {
	var out []SettingMeans
	for _, m := range means {
		if !dominated(m, means) {
			out = append(out, m)
		}
	}
	slices.SortStableFunc(out, func(a, b SettingMeans) int {
		return cmp.Or(cmp.Compare(a.Family, b.Family), cmp.Compare(a.ExtraEnergyPct, b.ExtraEnergyPct))
	})
	return out
}

func dominated(m SettingMeans, all []SettingMeans) bool {
	for _, o := range all {
		if o.Family == m.Family && o.ExtraEnergyPct <= m.ExtraEnergyPct && o.MIBits <= m.MIBits &&
			(o.ExtraEnergyPct < m.ExtraEnergyPct || o.MIBits < m.MIBits) {
			return true
		}
	}
	return false
}

// BestWithin returns the setting of family with the lowest mean MI among
// those whose mean extra energy is at most limitPct, and false when none is
// that cheap.
func BestWithin(means []SettingMeans, family string, limitPct float64) (SettingMeans, bool) {
	best, found := SettingMeans{MIBits: math.Inf(1)}, false
	for _, m := range means {
		if m.Family == family && m.ExtraEnergyPct <= limitPct && m.MIBits < best.MIBits {
			best, found = m, true
		}
	}
	return best, found
}

// Families returns the families of means in the order they first appear.
func Families(means []SettingMeans) []string {
	var out []string
	for _, m := range means {
		if !slices.Contains(out, m.Family) {
			out = append(out, m.Family)
		}
	}
	return out
}

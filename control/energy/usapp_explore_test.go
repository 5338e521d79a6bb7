package energy_test

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/usapp/usapp/control/energy"
	"github.com/usapp/usapp/privacy/eval"
	"github.com/usapp/usapp/privacy/metrics"
	"github.com/usapp/usapp/privacy/nilm"
	"github.com/usapp/usapp/sim/household"
)

func exploreTraces(t *testing.T) []*household.Trace {
	var out []*household.Trace
	for _, name := range []string{"ukdale", "synthetic"} {
		seeds := []int64{1}
		if name == "synthetic" {
			seeds = []int64{1, 2, 3, 4, 5}
		}
		for _, s := range seeds {
			tr, _, err := eval.Builtin(name, s)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, tr)
		}
	}
	return out
}

func envF(k string, d float64) float64 {
	if v := os.Getenv(k); v != "" {
		f, _ := strconv.ParseFloat(v, 64)
		return f
	}
	return d
}

func TestExploreUSaPP(t *testing.T) {
	if os.Getenv("USAPP_EXPLORE") == "" {
		t.Skip("exploration only")
	}
	u := energy.USaPP{}
	configure(&u)
	algos := []energy.Algorithm{energy.BestEffort{}, energy.NILL{}, energy.Stepping{}, u}
	if os.Getenv("ONLY") != "" {
		algos = []energy.Algorithm{u}
	}
	var worstF1, worstMI, worstE float64
	for _, tr := range exploreTraces(t) {
		rows, err := eval.Evaluate(tr, energy.DefaultBattery(), algos, nilm.Attackers(), eval.Options{Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		type agg struct{ worst, adapt, mi, e float64 }
		m := map[string]*agg{}
		var order []string
		for _, r := range rows {
			a := m[r.Algorithm]
			if a == nil {
				a = &agg{}
				m[r.Algorithm] = a
				order = append(order, r.Algorithm)
			}
			a.worst = math.Max(a.worst, r.F1)
			if r.Attacker == "adaptive" {
				a.adapt = r.F1
			}
			a.mi, a.e = r.MIBits, r.ExtraEnergyPct
		}
		var sb strings.Builder
		fmt.Fprintf(&sb, "%-12s", tr.Name)
		for _, k := range order {
			if k == "none" {
				continue
			}
			a := m[k]
			fmt.Fprintf(&sb, " | %s w%.3f a%.3f mi%.3f e%.2f", k[:2], a.worst, a.adapt, a.mi, a.e)
		}
		u := m["usapp"]
		worstF1, worstMI, worstE = math.Max(worstF1, u.worst), math.Max(worstMI, u.mi), math.Max(worstE, u.e)
		fmt.Println(sb.String())
	}
	fmt.Printf("WORST usapp F1 %.3f MI %.3f E %.2f\n", worstF1, worstMI, worstE)
}

func TestExploreDiag(t *testing.T) {
	if os.Getenv("USAPP_EXPLORE") == "" {
		t.Skip("exploration only")
	}
	u := energy.USaPP{}
	configure(&u)
	for _, tr := range exploreTraces(t) {
		b := energy.DefaultBattery()
		res, err := u.Hide(b, energy.Run{Demand: tr.Mains, Step: tr.Step, ReturnSoC: true})
		if err != nil {
			t.Fatal(err)
		}
		var e, jumps, sat, socsat float64
		for i, p := range tr.Mains {
			e += p
			if i > 0 && math.Abs(res.Metered[i]-res.Metered[i-1]) > 10 {
				jumps++
			}
			if math.Abs(res.Battery[i]) >= 2999 {
				sat++
			}
			if res.SoC[i] <= b.MinSoC*b.CapacityKWh+0.01 || res.SoC[i] >= b.MaxSoC*b.CapacityKWh-0.01 {
				socsat++
			}
		}
		fmt.Printf("%-12s demand %.2f kWh mean %.0f W; jumps>10W %v powersat %v socsat %v\n", tr.Name[:10], e*tr.Step.Hours()/1000, e/float64(len(tr.Mains)), jumps, sat, socsat)
		for _, a := range nilm.Attackers() {
			fmt.Printf("   %s %d events\n", a.Name(), len(a.Detect(res.Metered, tr.Step)))
		}
	}
}

func TestExploreOracle(t *testing.T) {
	if os.Getenv("USAPP_EXPLORE") == "" {
		t.Skip("exploration only")
	}
	for _, tr := range exploreTraces(t) {
		n := len(tr.Mains)
		fmt.Printf("%-10s", tr.Name[:10])
		for _, hours := range []float64{0.5, 1, 2, 3, 4, 6} {
			for _, q := range []float64{100, 200} {
				B := int(hours * 60 / tr.Step.Minutes())
				m := make([]float64, n)
				var cyc, tot float64
				for s := 0; s < n; s += B {
					e := min(s+B, n)
					var sum float64
					for i := s; i < e; i++ {
						sum += tr.Mains[i]
					}
					lv := math.Round(sum/float64(e-s)/q) * q
					for i := s; i < e; i++ {
						m[i] = lv
						cyc += math.Max(0, tr.Mains[i]-lv)
						tot += tr.Mains[i]
					}
				}
				fmt.Printf(" %gh/%g: mi%.2f e%.1f", hours, q, metrics.MutualInformation(tr.Mains, m, 32), 11.1*cyc/tot)
			}
		}
		fmt.Println()
	}
}

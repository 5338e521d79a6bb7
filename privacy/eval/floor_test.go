package eval

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/usapp/usapp/control/energy"
	"github.com/usapp/usapp/privacy/metrics"
	"github.com/usapp/usapp/sim/household"
)

func TestMIFloorKnownAnswers(t *testing.T) {
	demand := blocks(30, 200, 1000).Mains // I(p; p) = 1 bit
	tests := []struct {
		name     string
		lo, hi   float64
		budget   Budget
		min, max float64
	}{
		// No energy to spend and a lossy battery: the battery cannot be used
		// at all (C − D ≤ 0 and D ≤ 0.9·C force C = D = 0), so q = p and the
		// floor is the whole entropy of the demand.
		{"no budget shows everything", 200, 1000, Budget{Efficiency: 0.9}, 0.95, 1},
		// One flat level that returns the battery: 30·(1000 − m) discharged
		// = 0.9·30·(m − 200) charged gives m = 1180/1.9 = 621.05 W, and
		// costs (2m − 1200)/1200 = 3.509 %. With that budget a constant is
		// reachable and tells nothing.
		{"flat level affordable", 1180 / 1.9, 1180 / 1.9, Budget{Efficiency: 0.9, ExtraEnergyPct: 3.51}, 0, 1e-9},
		// That level stores 421.05 W·30 min·√0.9 = 0.1997 kWh by the
		// half-hour check; a store with room for 0.1 kWh cannot hold it, and
		// the floor proves that no trace of this range exists.
		{"flat level beyond the store", 1180 / 1.9, 1180 / 1.9, Budget{Efficiency: 0.9, ExtraEnergyPct: 3.51,
			Store: &Store{UpKWh: 0.1, DownKWh: 1, Step: time.Minute}}, math.Log2(32), math.Inf(1)},
		// With a store that may never hold more or less than it started
		// with, checked every sample, the lossy battery cannot be used: q = p.
		{"no room in the store shows everything", 200, 1000, Budget{Efficiency: 0.9, ExtraEnergyPct: 50,
			Store: &Store{Step: time.Minute, Every: time.Minute}}, 0.95, 1},
		// A battery of 300 W cannot bring the 1000 W half down to 600 W.
		{"beyond the battery's power", 600, 600, Budget{Efficiency: 0.9, ExtraEnergyPct: 50, PowerW: 300}, math.Inf(1), math.Inf(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MIFloor(demand, tt.lo, tt.hi, tt.budget, 32)
			if err != nil {
				t.Fatal(err)
			}
			if !(got >= tt.min && got <= tt.max) {
				t.Fatalf("floor %g, want in [%g, %g]", got, tt.min, tt.max)
			}
		})
	}
}

// TestMIFloorHoldsForAnyTrace is the floor's promise: no metered trace,
// whatever produced it, leaks less than the floor at its own range and cost.
func TestMIFloorHoldsForAnyTrace(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(2, 40).Draw(t, "n")
		bins := rapid.IntRange(2, 6).Draw(t, "bins")
		eta := rapid.Float64Range(0.5, 1).Draw(t, "eta")
		power := rapid.Float64Range(50, 3000).Draw(t, "power")
		demand, metered := make([]float64, n), make([]float64, n)
		for i := range n {
			demand[i] = rapid.Float64Range(0, 3000).Draw(t, "p")
			// Mostly the demand itself or a few levels, which is where the
			// floor is tight; sometimes anything the battery can reach.
			switch rapid.IntRange(0, 2).Draw(t, "kind") {
			case 0:
				metered[i] = demand[i]
			case 1:
				metered[i] = float64(rapid.IntRange(0, 3).Draw(t, "level")) * 400
			default:
				metered[i] = demand[i] + rapid.Float64Range(-power, power).Draw(t, "delta")
			}
			metered[i] = math.Max(0, math.Min(demand[i]+power, math.Max(demand[i]-power, metered[i])))
		}
		var c, d, s float64
		for i := range n {
			c += math.Max(0, metered[i]-demand[i])
			d += math.Max(0, demand[i]-metered[i])
			s += demand[i]
		}
		if s == 0 {
			t.Skip("no energy")
		}
		b := Budget{Efficiency: eta, ExtraEnergyPct: 100 * (c - d) / s, DrawdownPct: 100 * math.Max(0, d-eta*c) / s, PowerW: power}
		if rapid.Bool().Draw(t, "store") {
			// The tightest store the trace fits: exactly the room its own
			// stored energy used, checked every few samples.
			b.Store = traceStore(demand, metered, eta, time.Minute, time.Duration(rapid.IntRange(1, 5).Draw(t, "every"))*time.Minute)
		}
		lo, hi := span(metered)
		floor, err := MIFloor(demand, lo, hi, b, bins)
		if err != nil {
			t.Fatal(err)
		}
		if mi := metrics.MutualInformation(demand, metered, bins); floor > mi+1e-9 {
			t.Fatalf("floor %.6f bits above the trace's own MI %.6f", floor, mi)
		}
	})
}

// TestMIFloorWithTheBatterysStore checks StoreOf's units on the default
// battery, whose stored energy may rise 0.8 kWh above its start. The flat
// level of TestMIFloorKnownAnswers (621.05 W over 200 W then 1000 W halves
// of n minutes) stores 421.05 W·√0.9 per minute until the half-way point:
// 0.732 kWh for n = 110, which fits, and 0.866 kWh for n = 130, which does
// not (the 10-minute checks see the peak).
func TestMIFloorWithTheBatterysStore(t *testing.T) {
	for _, tt := range []struct {
		minutes int
		fits    bool
	}{{110, true}, {130, false}} {
		store := StoreOf(energy.DefaultBattery(), time.Minute)
		store.Every = 10 * time.Minute
		b := Budget{Efficiency: 0.9, ExtraEnergyPct: 3.51, Store: store}
		got, err := MIFloor(blocks(tt.minutes, 200, 1000).Mains, 1180/1.9, 1180/1.9, b, 32)
		if err != nil {
			t.Fatal(err)
		}
		if fits := got < 1e-6; fits != tt.fits {
			t.Errorf("%d-minute halves: floor %g, want the flat level to fit: %v", tt.minutes, got, tt.fits)
		}
	}
}

// traceStore is the least room above and below its starting charge that a
// battery needs to meter q against p, seen at every multiple of every.
func traceStore(p, q []float64, eta float64, step, every time.Duration) *Store {
	st := &Store{Step: step, Every: every}
	var kWh float64
	for t := range p {
		c, d := math.Max(0, q[t]-p[t]), math.Max(0, p[t]-q[t])
		kWh += (math.Sqrt(eta)*c - d/math.Sqrt(eta)) * step.Hours() / 1000
		if (t+1)%int(every/step) == 0 || t == len(p)-1 {
			st.UpKWh, st.DownKWh = math.Max(st.UpKWh, kWh), math.Max(st.DownKWh, -kWh)
		}
	}
	return st
}

func TestMIFloorRejectsBadInput(t *testing.T) {
	ok := Budget{Efficiency: 0.9, ExtraEnergyPct: 3}
	tests := []struct {
		name   string
		demand []float64
		lo, hi float64
		b      Budget
		bins   int
	}{
		{"empty demand", nil, 0, 1, ok, 32},
		{"no energy", []float64{0, 0}, 0, 1, ok, 32},
		{"negative demand", []float64{1, -1}, 0, 1, ok, 32},
		{"one bin", []float64{1, 2}, 0, 1, ok, 1},
		{"inverted range", []float64{1, 2}, 2, 1, ok, 32},
		{"negative range", []float64{1, 2}, -1, 1, ok, 32},
		{"efficiency above one", []float64{1, 2}, 0, 1, Budget{Efficiency: 1.1}, 32},
		{"NaN budget", []float64{1, 2}, 0, 1, Budget{Efficiency: 0.9, ExtraEnergyPct: math.NaN()}, 32},
		{"negative power", []float64{1, 2}, 0, 1, Budget{Efficiency: 0.9, PowerW: -1}, 32},
		{"store without a step", []float64{1, 2}, 0, 1, Budget{Efficiency: 0.9, Store: &Store{UpKWh: 1}}, 32},
		{"negative store", []float64{1, 2}, 0, 1, Budget{Efficiency: 0.9, Store: &Store{UpKWh: -1, Step: time.Minute}}, 32},
		{"too long", make([]float64, MaxFloorSamples+1), 0, 1, ok, 32},
	}
	for _, tt := range tests {
		_, err := MIFloor(tt.demand, tt.lo, tt.hi, tt.b, tt.bins)
		if !errors.Is(err, ErrOptions) || errors.Is(err, ErrTooLong) != (tt.name == "too long") {
			t.Errorf("%s: err %v, want ErrOptions (ErrTooLong only for length)", tt.name, err)
		}
	}
}

// BenchmarkMIFloor measures one floor on the UK-DALE day (720 samples, 32
// bins) at usapp's own metered range with a 3 % budget, and reports it.
func BenchmarkMIFloor(b *testing.B) {
	tr, _, err := Builtin(SourceUKDALE, 0)
	if err != nil {
		b.Fatal(err)
	}
	bat := energy.DefaultBattery()
	lo, hi := usappRange(b, tr, bat)
	budget := Budget{Efficiency: bat.RoundTripEfficiency, ExtraEnergyPct: DesignTarget.ExtraEnergyPct, PowerW: gridSidePowerW(bat)}
	var floor float64
	for b.Loop() {
		if floor, err = MIFloor(tr.Mains, lo, hi, budget, DefaultMIBins); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(floor, "floor-bits")
}

// BenchmarkMIFloorDays prints, for the six test days, the MI floor at
// usapp's own metered range for extra-energy budgets of 1, 2 and 3 %
// (returned battery, the default battery's power, any capacity), then at 3 %
// with the default battery's store checked every 30 and every 10 minutes,
// next to usapp's own operating point. Run with -v to see the table:
//
//	go test ./privacy/eval -run xxx -bench MIFloorDays -benchtime 1x -v
func BenchmarkMIFloorDays(b *testing.B) {
	bat := energy.DefaultBattery()
	budgets := []float64{1, 2, 3, 3, 3} // the last two with the store
	var table strings.Builder
	for b.Loop() {
		table.Reset()
		fmt.Fprintf(&table, "| day | usapp range W | usapp MI / extra %% | floor at 1 %% | 2 %% | 3 %% | 3 %%, 2 kWh store, 30 min | 10 min |\n|---|---|---|---|---|---|---|---|\n")
		for _, day := range testDays(b, 5) {
			rep, err := EvaluateReport(day.trace, bat, []energy.Algorithm{energy.USaPP{}}, nil, Options{})
			if err != nil {
				b.Fatal(err)
			}
			run := rep.Runs[1].Metered
			lo, hi := span(run)
			fmt.Fprintf(&table, "| %s | %.0f–%.0f | %.3f / %.2f |", day.name, lo, hi,
				metrics.MutualInformation(day.trace.Mains, run, DefaultMIBins), metrics.ExtraEnergyPct(day.trace.Mains, run))
			for i, e := range budgets {
				budget := Budget{Efficiency: bat.RoundTripEfficiency, ExtraEnergyPct: e, PowerW: gridSidePowerW(bat)}
				if i >= 3 {
					budget.Store = StoreOf(bat, day.trace.Step)
					budget.Store.Every = []time.Duration{30 * time.Minute, 10 * time.Minute}[i-3]
				}
				f, err := MIFloor(day.trace.Mains, lo, hi, budget, DefaultMIBins)
				if err != nil {
					b.Fatal(err)
				}
				if f > math.Log2(DefaultMIBins) {
					fmt.Fprintf(&table, " unreachable |")
				} else {
					fmt.Fprintf(&table, " %.3f |", f)
				}
			}
			table.WriteString("\n")
		}
	}
	b.Logf("MI floor (bits) at usapp's range:\n%s", table.String())
}

type testDay struct {
	name  string
	trace *household.Trace
	seed  int64 // the synthetic home's seed; 0 for a recorded day
}

// testDays are the UK-DALE day and synthetic seeds 1..seeds; with 5 they
// are the six goal days of BENCHMARKS.md.
func testDays(tb testing.TB, seeds int64) []testDay {
	tr, _, err := Builtin(SourceUKDALE, 0)
	if err != nil {
		tb.Fatal(err)
	}
	return append([]testDay{{"UK-DALE", tr, 0}}, syntheticDays(tb, 1, seeds)...)
}

// syntheticDays is the synthetic homes with seeds from..to.
func syntheticDays(tb testing.TB, from, to int64) []testDay {
	var days []testDay
	for s := from; s <= to; s++ {
		tr, _, err := Builtin(SourceSynthetic, s)
		if err != nil {
			tb.Fatal(err)
		}
		days = append(days, testDay{fmt.Sprintf("synthetic %d", s), tr, s})
	}
	return days
}

func usappRange(tb testing.TB, tr *household.Trace, bat energy.Battery) (lo, hi float64) {
	rep, err := EvaluateReport(tr, bat, []energy.Algorithm{energy.USaPP{}}, nil, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return span(rep.Runs[1].Metered)
}

// TestFloorOfRealRuns checks the floor at every algorithm's own operating
// point, with the battery's store, against the run itself: each real run is
// a trace the floor must allow, so its MI is never below the floor.
func TestFloorOfRealRuns(t *testing.T) {
	day, _, err := Builtin(SourceSynthetic, 3)
	if err != nil {
		t.Fatal(err)
	}
	evening := &household.Trace{Name: "evening", Start: day.Start, Step: day.Step, Mains: day.Mains[16*60 : 22*60]}
	bat := energy.DefaultBattery()
	var algos []energy.Algorithm
	for _, name := range energy.Names() {
		a, err := energy.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		algos = append(algos, a)
	}
	rep, err := EvaluateReport(evening, bat, algos, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, run := range rep.Runs {
		floor, err := FloorOf(evening.Mains, evening.Step, run, bat, 8)
		if err != nil {
			t.Fatal(err)
		}
		if mi := metrics.MutualInformation(evening.Mains, run.Metered, 8); floor > mi+1e-9 {
			t.Errorf("%s: floor %.4f above its own MI %.4f", run.Algorithm, floor, mi)
		}
	}
}

// BenchmarkMIFloorByStore shows how much the battery's capacity alone
// constrains the floor: synthetic 3 at usapp's range and 3 %, with the room
// above and below the starting charge shrunk from the default battery's
// 0.8 kWh to nothing, checked every 10 minutes. Run with -v to see it:
//
//	go test ./privacy/eval -run xxx -bench MIFloorByStore -benchtime 1x -v
func BenchmarkMIFloorByStore(b *testing.B) {
	bat := energy.DefaultBattery()
	tr, _, err := Builtin(SourceSynthetic, 3)
	if err != nil {
		b.Fatal(err)
	}
	lo, hi := usappRange(b, tr, bat)
	var table strings.Builder
	for b.Loop() {
		table.Reset()
		table.WriteString("| room each way kWh | floor bits |\n|---|---|\n")
		for _, room := range []float64{0.8, 0.2, 0.05, 0} {
			budget := Budget{Efficiency: bat.RoundTripEfficiency, ExtraEnergyPct: DesignTarget.ExtraEnergyPct, PowerW: gridSidePowerW(bat),
				Store: &Store{UpKWh: room, DownKWh: room, Step: tr.Step, Every: 10 * time.Minute}}
			f, err := MIFloor(tr.Mains, lo, hi, budget, DefaultMIBins)
			if err != nil {
				b.Fatal(err)
			}
			fmt.Fprintf(&table, "| %.2f | %.3f |\n", room, f)
		}
	}
	b.Logf("MI floor on synthetic 3 at 3 %% by store:\n%s", table.String())
}

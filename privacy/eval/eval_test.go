package eval

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/usapp/usapp/billing"
	"github.com/usapp/usapp/control/energy"
	"github.com/usapp/usapp/privacy/nilm"
	"github.com/usapp/usapp/sim/household"
)

// handTrace is two hours at 1 minute: a 200 W base, a 2 kW kettle on at
// minute 30 for 5 minutes and a 100 W fridge on from 60 to 80. Its true
// events (threshold 40 W) are known: kettle +2000 at 30, −2000 at 35, fridge
// +100 at 60, −100 at 80.
func handTrace() *household.Trace {
	const n = 120
	base, kettle, fridge := make([]float64, n), make([]float64, n), make([]float64, n)
	mains := make([]float64, n)
	for i := range mains {
		base[i] = 200
		if i >= 30 && i < 35 {
			kettle[i] = 2000
		}
		if i >= 60 && i < 80 {
			fridge[i] = 100
		}
		mains[i] = base[i] + kettle[i] + fridge[i]
	}
	return &household.Trace{
		Name:       "hand",
		Start:      time.Date(2026, 6, 8, 15, 0, 0, 0, time.UTC), // crosses the 16:00 London peak band
		Step:       time.Minute,
		Mains:      mains,
		Appliances: map[string][]float64{"base": base, "kettle": kettle, "fridge": fridge},
	}
}

func rowsOf(rows []Row, algo string) []Row {
	var out []Row
	for _, r := range rows {
		if r.Algorithm == algo {
			out = append(out, r)
		}
	}
	return out
}

func TestEvaluateHandTrace(t *testing.T) {
	tr := handTrace()
	b := energy.DefaultBattery()
	algos, attackers := energy.Algorithms(), nilm.Attackers()
	rep, err := EvaluateReport(tr, b, algos, attackers, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(rep.Rows), (1+len(algos))*len(attackers); got != want {
		t.Fatalf("%d rows, want %d", got, want)
	}
	if len(rep.Runs) != 1+len(algos) || rep.Runs[0].Algorithm != None {
		t.Fatalf("runs: want none then %d algorithms", len(algos))
	}
	for i, a := range algos {
		if rep.Runs[i+1].Algorithm != a.Name() {
			t.Errorf("run %d is %q, want %q", i+1, rep.Runs[i+1].Algorithm, a.Name())
		}
	}

	none := rowsOf(rep.Rows, None)
	if len(none) != len(attackers) {
		t.Fatalf("%d none rows, want one per attacker", len(none))
	}
	tariff := billing.DefaultTariff()
	var wantCost float64
	for i, p := range tr.Mains {
		_, price := tariff.PriceAt(tr.Start.Add(time.Duration(i) * tr.Step))
		wantCost += p / 1000 * tr.Step.Hours() * price
	}
	for _, r := range none {
		if r.ExtraEnergyPct != 0 || r.SoCDriftKWh != 0 || r.Correlation != 1 {
			t.Errorf("none/%s: extra %v drift %v correlation %v, want 0 0 1", r.Attacker, r.ExtraEnergyPct, r.SoCDriftKWh, r.Correlation)
		}
		if r.BatteryKWh != 0 || r.BatteryKW != 0 {
			t.Errorf("none/%s: battery %v kWh %v kW, want 0", r.Attacker, r.BatteryKWh, r.BatteryKW)
		}
		if r.PeakKW != 2.2 { // base + kettle; the fridge runs later
			t.Errorf("none/%s: peak %v kW, want 2.2", r.Attacker, r.PeakKW)
		}
		if math.Abs(r.Cost-wantCost) > 1e-12 {
			t.Errorf("none/%s: cost %v, want %v", r.Attacker, r.Cost, wantCost)
		}
		if r.MIBits <= 0 {
			t.Errorf("none/%s: MI %v bits, want > 0 (metered is the demand)", r.Attacker, r.MIBits)
		}
	}
	// Every attacker sees the four clean steps of the unhidden trace.
	for _, r := range none {
		if r.F1 != 1 {
			t.Errorf("none/%s: F1 %v (P %v R %v), want 1 on four clean steps", r.Attacker, r.F1, r.Precision, r.Recall)
		}
	}

	// Algorithm rows agree with the runs they came from.
	for _, h := range rep.Runs[1:] {
		rows := rowsOf(rep.Rows, h.Algorithm)
		var dem, met, peak float64
		for i := range h.Metered {
			dem += tr.Mains[i]
			met += h.Metered[i]
			peak = max(peak, h.Metered[i])
		}
		for _, r := range rows {
			if r.BatteryKWh != b.CapacityKWh || r.BatteryKW != b.MaxDischargeKW {
				t.Errorf("%s: battery %v/%v, want %v/%v", r.Algorithm, r.BatteryKWh, r.BatteryKW, b.CapacityKWh, b.MaxDischargeKW)
			}
			if want := 100 * (met - dem) / dem; math.Abs(r.ExtraEnergyPct-want) > 1e-9 {
				t.Errorf("%s: extra %v%%, want %v%%", r.Algorithm, r.ExtraEnergyPct, want)
			}
			if want := h.SoC[len(h.SoC)-1] - b.InitialSoC*b.CapacityKWh; r.SoCDriftKWh != want {
				t.Errorf("%s: drift %v, want %v", r.Algorithm, r.SoCDriftKWh, want)
			}
			if math.Abs(r.SoCDriftKWh) > 1e-6 {
				t.Errorf("%s: drift %v kWh with the state of charge returned", r.Algorithm, r.SoCDriftKWh)
			}
			if r.PeakKW != peak/1000 {
				t.Errorf("%s: peak %v kW, want %v", r.Algorithm, r.PeakKW, peak/1000)
			}
			if r.F1 < 0 || r.F1 > 1 || r.Correlation < -1 || r.Correlation > 1 {
				t.Errorf("%s/%s: F1 %v ρ %v out of range", r.Algorithm, r.Attacker, r.F1, r.Correlation)
			}
		}
	}
}

func TestEvaluateReproducible(t *testing.T) {
	tr := household.Synthetic{Seed: 7, Start: SyntheticStart, Step: time.Minute, Duration: 6 * time.Hour}.Generate()
	run := func() []Row {
		rows, err := Evaluate(tr, energy.DefaultBattery(), energy.Algorithms(), nilm.Attackers(), Options{Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	a := run()
	prev := runtime.GOMAXPROCS(1)
	b := run()
	runtime.GOMAXPROCS(prev)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same trace, battery and seed gave different rows")
	}
}

func TestRowJSONKeys(t *testing.T) {
	rows, err := Evaluate(handTrace(), energy.DefaultBattery(), energy.Algorithms()[:1], nilm.Attackers(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(rows)
	if err != nil {
		t.Fatal(err)
	}
	var generic []map[string]any
	if err := json.Unmarshal(data, &generic); err != nil {
		t.Fatal(err)
	}
	want := []string{"algorithm", "attacker", "battery_kw", "battery_kwh", "correlation", "cost", "extra_energy_pct",
		"f1", "losses_kwh", "mi_bits", "peak_kw", "precision", "recall", "soc_drift_kwh"}
	for _, m := range generic {
		var keys []string
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, want) {
			t.Fatalf("keys %v, want exactly %v", keys, want)
		}
	}
	var back []Row
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, rows) {
		t.Fatal("rows changed in a JSON round trip")
	}
}

func TestEvaluateRejects(t *testing.T) {
	good := energy.DefaultBattery()
	short := handTrace()
	short.Appliances["kettle"] = short.Appliances["kettle"][:10]
	zero := handTrace()
	zero.Mains = make([]float64, len(zero.Mains))
	for _, tc := range []struct {
		name string
		tr   *household.Trace
		opts Options
		want error
	}{
		{"nil trace", nil, Options{}, ErrTrace},
		{"one sample", &household.Trace{Step: time.Minute, Mains: []float64{1}}, Options{}, ErrTrace},
		{"no step", &household.Trace{Mains: []float64{1, 2}}, Options{}, ErrTrace},
		{"appliance length", short, Options{}, ErrTrace},
		{"zero demand", zero, Options{}, ErrTrace},
		{"one bin", handTrace(), Options{MIBins: 1}, ErrOptions},
		{"negative threshold", handTrace(), Options{EventThresholdW: -5}, ErrOptions},
		{"NaN threshold", handTrace(), Options{EventThresholdW: math.NaN()}, ErrOptions},
		{"bad tariff", handTrace(), Options{Tariff: &billing.Tariff{Timezone: "Nowhere/Void"}}, ErrOptions},
	} {
		if _, err := Evaluate(tc.tr, good, energy.Algorithms(), nilm.Attackers(), tc.opts); !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}
	b := good
	b.RoundTripEfficiency = 2
	_, err := Evaluate(handTrace(), b, energy.Algorithms(), nilm.Attackers(), Options{})
	var fe *energy.FieldError
	if !errors.As(err, &fe) || fe.Field != "RoundTripEfficiency" || !errors.Is(err, energy.ErrBattery) {
		t.Fatalf("efficiency 2: err %v, want a FieldError naming RoundTripEfficiency", err)
	}
}

func TestSweep(t *testing.T) {
	tr := handTrace()
	caps := []float64{0.25, 1, 5}
	batteries := Batteries(energy.DefaultBattery(), caps)
	for i, b := range batteries {
		if b.CapacityKWh != caps[i] || b.MaxDischargeKW != 3 || b.MaxChargeKW != 3 {
			t.Fatalf("battery %d: %+v, want %v kWh at a fixed 3 kW", i, b, caps[i])
		}
	}
	algos, attackers := energy.Algorithms(), nilm.Attackers()
	rows, err := Sweep(tr, batteries, algos, attackers, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(rows), len(attackers)*(1+len(caps)*len(algos)); got != want {
		t.Fatalf("%d rows, want %d (none once, then every algorithm per battery)", got, want)
	}
	if n := len(rowsOf(rows, None)); n != len(attackers) {
		t.Fatalf("%d none rows, want %d", n, len(attackers))
	}
	// Each battery's slice equals a plain evaluation with that battery.
	single, err := Evaluate(tr, batteries[1], algos, attackers, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var at1 []Row
	for _, r := range rows {
		if r.BatteryKWh == 1 {
			at1 = append(at1, r)
		}
	}
	if !reflect.DeepEqual(at1, single[len(attackers):]) {
		t.Fatal("sweep rows at 1 kWh differ from Evaluate at 1 kWh")
	}

	worst := Worst(rows)
	if len(worst) != 1+len(caps)*len(algos) {
		t.Fatalf("worst: %d rows, want one per (algorithm, battery)", len(worst))
	}
	for _, w := range worst {
		for _, r := range rows {
			if r.Algorithm == w.Algorithm && r.BatteryKWh == w.BatteryKWh && r.F1 > w.F1 {
				t.Errorf("worst %s@%v: F1 %v but %s reaches %v", w.Algorithm, w.BatteryKWh, w.F1, r.Attacker, r.F1)
			}
		}
	}
	sorted := ByBattery(worst)
	if !slices.IsSortedFunc(sorted, func(a, b Row) int {
		if a.BatteryKWh != b.BatteryKWh {
			return int(math.Copysign(1, a.BatteryKWh-b.BatteryKWh))
		}
		return 0
	}) {
		t.Fatal("ByBattery does not sort by capacity")
	}
}

func TestWorstPicksHighestF1(t *testing.T) {
	rows := []Row{
		{Algorithm: "a", Attacker: "x", BatteryKWh: 1, F1: 0.2},
		{Algorithm: "a", Attacker: "y", BatteryKWh: 1, F1: 0.6},
		{Algorithm: "a", Attacker: "z", BatteryKWh: 1, F1: 0.6},
		{Algorithm: "a", Attacker: "x", BatteryKWh: 2, F1: 0.1},
		{Algorithm: "b", Attacker: "x", BatteryKWh: 1, F1: 0.3},
	}
	got := Worst(rows)
	want := []Row{rows[1], rows[3], rows[4]}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Worst = %+v, want %+v", got, want)
	}
}

// BenchmarkEvaluateDay evaluates the UK-DALE day (720 samples) with every
// algorithm and attacker; the goal is at least 0.5 days/s.
func BenchmarkEvaluateDay(b *testing.B) {
	tr, err := household.UKDALE()
	if err != nil {
		b.Fatal(err)
	}
	bat, algos, attackers := energy.DefaultBattery(), energy.Algorithms(), nilm.Attackers()
	for b.Loop() {
		if _, err := Evaluate(tr, bat, algos, attackers, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "days/s")
}

// BenchmarkEvaluateSyntheticDay is the same on a 1-minute synthetic day
// (1440 samples).
func BenchmarkEvaluateSyntheticDay(b *testing.B) {
	tr, _, _ := Builtin(SourceSynthetic, 1)
	bat, algos, attackers := energy.DefaultBattery(), energy.Algorithms(), nilm.Attackers()
	for b.Loop() {
		if _, err := Evaluate(tr, bat, algos, attackers, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "days/s")
}

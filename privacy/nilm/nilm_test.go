package nilm

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/usapp/usapp/sim/household"
)

const twoMin = 2 * time.Minute

// level builds a piecewise-constant trace: pairs of (watts, samples).
func level(parts ...float64) []float64 {
	var x []float64
	for i := 0; i+1 < len(parts); i += 2 {
		for range int(parts[i+1]) {
			x = append(x, parts[i])
		}
	}
	return x
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestHartSingleStepUpAndDown(t *testing.T) {
	x := level(100, 10, 2100, 3, 100, 10)
	got := DefaultHart().Detect(x, twoMin)
	if len(got) != 2 {
		t.Fatalf("events %v, want 2", got)
	}
	if got[0].Index != 10 || !near(got[0].Delta, 2000, 1e-9) {
		t.Errorf("on event %+v, want {10 +2000}", got[0])
	}
	if got[1].Index != 13 || !near(got[1].Delta, -2000, 1e-9) {
		t.Errorf("off event %+v, want {13 -2000}", got[1])
	}
}

func TestHartIgnoresNoiseAndSmallSteps(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := level(300, 50, 330, 50) // a 30 W step is below the 40 W floor
	for i := range x {
		x[i] += rng.Float64()*8 - 4 // ±4 W, inside the 10 W tolerance
	}
	if got := DefaultHart().Detect(x, twoMin); len(got) != 0 {
		t.Fatalf("events %v on noise and a sub-floor step", got)
	}
}

func TestHartSkipsShortTransitions(t *testing.T) {
	// At 1-minute steps a 2-minute MinSteady means a one-sample ramp value is
	// a transition: one event from 100 to 1100 starting at the ramp.
	x := level(100, 6, 600, 1, 1100, 6)
	got := DefaultHart().Detect(x, time.Minute)
	if len(got) != 1 || got[0].Index != 6 || !near(got[0].Delta, 1000, 1e-9) {
		t.Fatalf("events %v, want [{6 +1000}]", got)
	}
	// At 2-minute steps the ramp sample is a steady period of its own.
	if got := DefaultHart().Detect(x, twoMin); len(got) != 2 {
		t.Fatalf("events %v, want two half steps", got)
	}
}

func TestAdaptiveFlagsLevelBreaks(t *testing.T) {
	// A hider holds 500 W, then the battery saturates and the load creeps
	// up by 20 W: below Hart's floor, but a held level was left.
	x := level(500, 6, 520, 1, 540, 1, 560, 6)
	if got := DefaultHart().Detect(x, twoMin); len(got) != 0 {
		t.Fatalf("hart saw %v in a 20 W creep", got)
	}
	got := DefaultAdaptive().Detect(x, twoMin)
	if len(got) != 1 || got[0].Index != 6 || got[0].Delta <= 0 {
		t.Fatalf("adaptive events %v, want one on event at 6", got)
	}
	// Breaks of a house's natural drift (under MinBreak) are not events.
	if got := DefaultAdaptive().Detect(level(500, 6, 505, 6), twoMin); len(got) != 0 {
		t.Fatalf("adaptive flagged drift: %v", got)
	}
}

func TestAdaptiveRaisesFloorAgainstInjectedNoise(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := level(1000, 200, 3000, 10, 1000, 200)
	for i := range x {
		x[i] += rng.NormFloat64() * 60 // noise-shaped hiding, σ = 60 W
	}
	hart := DefaultHart().Detect(x, twoMin)
	adapt := DefaultAdaptive().Detect(x, twoMin)
	if len(adapt) >= len(hart)/4 {
		t.Errorf("adaptive reported %d events, hart %d: noise floor not raised", len(adapt), len(hart))
	}
	has := func(idx int, sign float64) bool {
		return slices.ContainsFunc(adapt, func(e Event) bool { return abs(e.Index-idx) <= 1 && e.Delta*sign > 0 })
	}
	if !has(200, 1) || !has(210, -1) {
		t.Errorf("adaptive missed the 2 kW appliance: %v", adapt)
	}
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

func TestActivationsPairAndCluster(t *testing.T) {
	events := []Event{
		{5, 2000}, {7, 90}, {9, -1990}, {12, -88}, // kettle with the fridge nested
		{40, 2010}, {42, -2005}, // kettle again
		{50, 500}, // never switched off: unpaired
	}
	got := Activations(events, 0.2)
	want := []Activation{{5, 9, 1995, 1}, {7, 12, 89, 0}, {40, 42, 2007.5, 1}}
	if len(got) != len(want) {
		t.Fatalf("activations %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].On != want[i].On || got[i].Off != want[i].Off || got[i].Label != want[i].Label || !near(got[i].Watts, want[i].Watts, 1e-9) {
			t.Errorf("activation %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestRegistry(t *testing.T) {
	var names []string
	for _, a := range Attackers() {
		names = append(names, a.Name())
		got, err := Lookup(a.Name())
		if err != nil || got.Name() != a.Name() {
			t.Errorf("Lookup(%q) = %v, %v", a.Name(), got, err)
		}
	}
	if !slices.Equal(names, []string{"adaptive", "co", "hart"}) || !slices.Equal(Names(), names) {
		t.Errorf("attackers %v, Names() %v", names, Names())
	}
	if _, err := Lookup("oracle"); !errors.Is(err, ErrUnknownAttacker) {
		t.Errorf("Lookup(oracle) error %v", err)
	}
}

// TestDetectContract: no attacker panics, mutates its input or returns
// unsorted, duplicated or out-of-range events, on any finite trace
// (including empty and single-sample ones) at any step.
func TestDetectContract(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		x := rapid.SliceOfN(rapid.Float64Range(-1e5, 1e5), 0, 200).Draw(t, "metered")
		if rapid.Bool().Draw(t, "piecewise") { // exercise held levels too
			for i := range x {
				x[i] = math.Round(x[i] / 2e4)
			}
		}
		step := time.Duration(rapid.Int64Range(-1, int64(time.Hour)).Draw(t, "step"))
		orig := slices.Clone(x)
		for _, a := range Attackers() {
			events := a.Detect(x, step)
			if !slices.Equal(x, orig) {
				t.Fatalf("%s modified its input", a.Name())
			}
			for i, e := range events {
				if e.Index < 1 || e.Index >= len(x) || (i > 0 && e.Index <= events[i-1].Index) {
					t.Fatalf("%s: event %d %+v out of order or range (n=%d)", a.Name(), i, e, len(x))
				}
			}
			for _, r := range Activations(events, 0.2) {
				if r.On >= r.Off || r.Watts <= 0 {
					t.Fatalf("%s: activation %+v", a.Name(), r)
				}
			}
		}
	})
}

func FuzzDetect(f *testing.F) {
	f.Add([]byte{}, int64(time.Minute))
	f.Add([]byte{0, 1, 2, 200, 200, 200, 3}, int64(2*time.Minute))
	f.Fuzz(func(t *testing.T, raw []byte, step int64) {
		x := make([]float64, len(raw))
		for i, b := range raw {
			x[i] = float64(b) * 20
		}
		for _, a := range Attackers() {
			for _, e := range a.Detect(x, time.Duration(step)) {
				if e.Index < 1 || e.Index >= len(x) || e.Delta == 0 {
					t.Fatalf("%s: event %+v (n=%d)", a.Name(), e, len(x))
				}
			}
		}
	})
}

func BenchmarkDetect(b *testing.B) {
	tr, err := household.UKDALE()
	if err != nil {
		b.Fatal(err)
	}
	for _, a := range Attackers() {
		b.Run(a.Name(), func(b *testing.B) {
			for b.Loop() {
				a.Detect(tr.Mains, tr.Step)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "days/s")
		})
	}
}

func TestCODisaggregatesKnownAppliances(t *testing.T) {
	co := CO{Appliances: []Signature{{"kettle", 2000}, {"fridge", 90}}, Base: 100, NoiseFloor: 40}
	x := level(100, 5, 190, 5, 2190, 2, 190, 5, 100, 5)
	got := co.Detect(x, twoMin)
	want := []Event{{5, 90}, {10, 2000}, {12, -2000}, {17, -90}}
	if !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

func TestTrainCO(t *testing.T) {
	co := TrainCO(map[string][]float64{
		"kettle": {0, 2000, 2100, 0, 0, 0},
		"fridge": {90, 95, 0, 90, 92, 0},
		"clock":  {2, 2, 2, 2, 2, 2},
	}, 5, 40)
	want := []Signature{{"kettle", 2100}, {"fridge", 92}}
	if !slices.Equal(co.Appliances, want) {
		t.Fatalf("signatures %v, want %v", co.Appliances, want)
	}
	if len(DefaultCO().Appliances) != 6 {
		t.Fatalf("default CO has %v", DefaultCO().Appliances)
	}
}

package energy_test

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/usapp/usapp/billing"
	"github.com/usapp/usapp/control/energy"
	"github.com/usapp/usapp/privacy/metrics"
	"github.com/usapp/usapp/sim/household"
)

// failer is what checkPhysics needs from testing.TB and *rapid.T.
type failer interface {
	Helper()
	Fatalf(format string, args ...any)
}

// checkPhysics fails unless res respects every battery limit and the
// balance p = p_i + pB + pL at every step.
func checkPhysics(t failer, b energy.Battery, r energy.Run, res *energy.Result) {
	t.Helper()
	n := len(r.Demand)
	if len(res.Metered) != n || len(res.Battery) != n || len(res.Loss) != n || len(res.SoC) != n {
		t.Fatalf("result lengths %d/%d/%d/%d, want %d", len(res.Metered), len(res.Battery), len(res.Loss), len(res.SoC), n)
	}
	const tol = 1e-6
	eff := math.Sqrt(b.RoundTripEfficiency)
	soc := b.InitialSoC * b.CapacityKWh
	for i, p := range r.Demand {
		m, pB, pL := res.Metered[i], res.Battery[i], res.Loss[i]
		if d := p - (m + pB + pL); math.Abs(d) > 1e-9*math.Max(1, p) {
			t.Fatalf("step %d: p - (p_i+pB+pL) = %g", i, d)
		}
		if pB > b.MaxDischargeKW*1000+tol || -pB > b.MaxChargeKW*1000+tol {
			t.Fatalf("step %d: pB = %g W outside the power limits", i, pB)
		}
		if m < -tol {
			t.Fatalf("step %d: export %g W", i, m)
		}
		wantLoss := -(1 - eff) * pB
		if pB < 0 {
			wantLoss = pB/eff - pB
		}
		if pL > tol || math.Abs(pL-wantLoss) > 1e-6*math.Max(1, math.Abs(pB)) {
			t.Fatalf("step %d: pL = %g, want %g", i, pL, wantLoss)
		}
		soc -= pB * r.Step.Seconds() / 3.6e6
		if math.Abs(res.SoC[i]-soc) > 1e-9 {
			t.Fatalf("step %d: SoC %g, accounting gives %g", i, res.SoC[i], soc)
		}
		soc = res.SoC[i]
		if soc < b.MinSoC*b.CapacityKWh-1e-9 || soc > b.MaxSoC*b.CapacityKWh+1e-9 {
			t.Fatalf("step %d: SoC %g kWh outside the window", i, soc)
		}
	}
}

func ukdaleRun(t testing.TB, prices bool) energy.Run {
	tr, err := household.UKDALE()
	if err != nil {
		t.Fatal(err)
	}
	r := energy.Run{Demand: tr.Mains, Step: tr.Step, ReturnSoC: true, Seed: 7}
	if prices {
		tf := billing.DefaultTariff()
		r.Prices = make([]float64, len(tr.Mains))
		for i := range r.Prices {
			_, r.Prices[i] = tf.PriceAt(tr.Start.Add(time.Duration(i) * tr.Step))
		}
	}
	return r
}

func TestAlgorithmsOnUKDALE(t *testing.T) {
	b := energy.DefaultBattery()
	for _, prices := range []bool{false, true} {
		for _, ret := range []bool{false, true} {
			r := ukdaleRun(t, prices)
			r.ReturnSoC = ret
			for _, a := range energy.Algorithms() {
				t.Run(fmt.Sprintf("%s/prices=%v/return=%v", a.Name(), prices, ret), func(t *testing.T) {
					res, err := a.Hide(b, r)
					if err != nil {
						t.Fatal(err)
					}
					checkPhysics(t, b, r, res)
					end := res.SoC[len(res.SoC)-1]
					if drift := math.Abs(end - b.InitialSoC*b.CapacityKWh); ret && drift > 0.01*b.CapacityKWh {
						t.Errorf("end SoC %.3f kWh, drift %.3f kWh > 1 %% of capacity", end, drift)
					}
					// Hiding must actually change the trace: the metered load
					// differs from demand at most steps.
					same := 0
					for i := range r.Demand {
						if math.Abs(res.Metered[i]-r.Demand[i]) < 1 {
							same++
						}
					}
					if same > len(r.Demand)/4 {
						t.Errorf("metered equals demand at %d of %d steps", same, len(r.Demand))
					}
				})
			}
		}
	}
}

// USaPP moves few times: far fewer metered changes than the demand has.
func TestUSaPPChangesRarely(t *testing.T) {
	r := ukdaleRun(t, false)
	res, err := energy.USaPP{}.Hide(energy.DefaultBattery(), r)
	if err != nil {
		t.Fatal(err)
	}
	steps := func(x []float64) int {
		k := 0
		for i := 1; i < len(x); i++ {
			if math.Abs(x[i]-x[i-1]) > 40 {
				k++
			}
		}
		return k
	}
	if got, demand := steps(res.Metered), steps(r.Demand); got*4 > demand {
		t.Errorf("%d metered steps above 40 W, demand has %d", got, demand)
	}
}

// USaPP's estimate restarts at every large demand step and trusts the new
// run after Settle (5 min): a 3-minute kettle does not move the metered
// level (the battery serves it: that is the hiding), while a 2-hour oven
// moves it soon after it starts and lets it go soon after it ends, so the
// battery carries neither end for long. A 30-minute trailing median would
// still hold the oven's level 12 minutes after it ended.
func TestUSaPPFollowsLongLoadsOnly(t *testing.T) {
	const base, kettle, oven = 300.0, 2500.0, 2000.0
	demand := twoLoads(base, kettle, 3, oven)
	r := energy.Run{Demand: demand, Step: time.Minute}
	res, err := energy.USaPP{}.Hide(energy.DefaultBattery(), r)
	if err != nil {
		t.Fatal(err)
	}
	checkPhysics(t, energy.DefaultBattery(), r, res)
	for i := 115; i < 140; i++ {
		if math.Abs(res.Metered[i]-res.Metered[114]) > 1 {
			t.Fatalf("minute %d: metered %.0f W moved from %.0f W around a 3-minute spike", i, res.Metered[i], res.Metered[114])
		}
	}
	if got := res.Metered[212]; math.Abs(got-demand[212]) > 400 {
		t.Errorf("12 minutes into a 2-hour load: metered %.0f W, demand %.0f W; the level did not follow", got, demand[212])
	}
	if got := res.Metered[332]; math.Abs(got-base) > 400 {
		t.Errorf("12 minutes after a 2-hour load: metered %.0f W, demand %.0f W; the level did not come back", got, base)
	}
}

// twoLoads is six hours of one-minute steps at base W, with first W more
// for firstMin minutes from minute 120 and second W more from minute 200 to
// 320.
func twoLoads(base, first float64, firstMin int, second float64) []float64 {
	demand := make([]float64, 6*60)
	for i := range demand {
		demand[i] = base
		if i >= 120 && i < 120+firstMin {
			demand[i] += first
		}
		if i >= 200 && i < 320 {
			demand[i] += second
		}
	}
	return demand
}

// USaPP rides through a load the battery can carry: a 700 W load for a
// quarter of an hour never reaches the meter, which holds the home's
// standby level and its first step at most. Without RideThrough the meter
// shows the load's level. A small load the battery would carry for hours
// (one grid step, 200 W) is shown as soon as it has settled.
func TestUSaPPRidesThroughALargeLoad(t *testing.T) {
	const base, large, small = 300.0, 700.0, 200.0
	r := energy.Run{Demand: twoLoads(base, large, 15, small), Step: time.Minute}
	peak := func(u energy.USaPP, from, to int) float64 {
		res, err := u.Hide(energy.DefaultBattery(), r)
		if err != nil {
			t.Fatal(err)
		}
		checkPhysics(t, energy.DefaultBattery(), r, res)
		return slices.Max(res.Metered[from:to])
	}
	if got := peak(energy.USaPP{}, 120, 200); got > base+small+1 {
		t.Errorf("the meter reads %.0f W around the 15-minute load, want at most %.0f W", got, base+small)
	}
	if got := peak(energy.USaPP{RideThrough: -1}, 120, 200); got < base+large-300 {
		t.Errorf("without RideThrough the meter reads at most %.0f W around the load, want it shown (%.0f W)", got, base+large)
	}
	if got := peak(energy.USaPP{}, 200, 225); got < base+small-1 {
		t.Errorf("the meter reads at most %.0f W in the first 25 minutes of a 2-hour %.0f W load, want it shown", got, small)
	}
}

// With a time-of-use price USaPP enters the dear band with more energy in
// store than without the price, draws less from the grid during it, and pays
// less over the day.
func TestUSaPPUsesPrices(t *testing.T) {
	b := energy.DefaultBattery()
	r := ukdaleRun(t, true)
	aware, err := energy.USaPP{}.Hide(b, r)
	if err != nil {
		t.Fatal(err)
	}
	blind, err := energy.USaPP{PriceShift: -1}.Hide(b, r)
	if err != nil {
		t.Fatal(err)
	}
	dear := slices.Max(r.Prices)
	first := slices.Index(r.Prices, dear)
	if first < 1 {
		t.Fatal("the tariff's dear band must start after the first step")
	}
	if aware.SoC[first-1] <= blind.SoC[first-1]+0.1 {
		t.Errorf("SoC entering the dear band %.3f kWh with prices, %.3f without: no price shaping", aware.SoC[first-1], blind.SoC[first-1])
	}
	var dearAware, dearBlind float64
	for i, c := range r.Prices {
		if c == dear {
			dearAware += aware.Metered[i]
			dearBlind += blind.Metered[i]
		}
	}
	if dearAware >= dearBlind {
		t.Errorf("grid energy in the dear band %.0f with prices, %.0f without (W-steps)", dearAware, dearBlind)
	}
	costAware, costBlind := metrics.Cost(aware.Metered, r.Prices, r.Step), metrics.Cost(blind.Metered, r.Prices, r.Step)
	if costAware >= costBlind {
		t.Errorf("price-aware cost %.3f not below price-blind %.3f", costAware, costBlind)
	}
}

// Decisions use no future demand: changing demand after step k leaves
// steps 0..k unchanged.
func TestCausal(t *testing.T) {
	b := energy.DefaultBattery()
	r := ukdaleRun(t, true)
	const k = 400
	r2 := r
	r2.Demand = slices.Clone(r.Demand)
	for i := k + 1; i < len(r2.Demand); i++ {
		r2.Demand[i] = 3000 - r2.Demand[i]/2
	}
	for _, a := range energy.Algorithms() {
		x, err := a.Hide(b, r)
		if err != nil {
			t.Fatal(err)
		}
		y, err := a.Hide(b, r2)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(x.Metered[:k+1], y.Metered[:k+1]) {
			t.Errorf("%s: steps up to %d depend on later demand", a.Name(), k)
		}
	}
}

func TestRandomSeeded(t *testing.T) {
	b := energy.DefaultBattery()
	r := ukdaleRun(t, false)
	x, _ := energy.Random{}.Hide(b, r)
	y, _ := energy.Random{}.Hide(b, r)
	r.Seed++
	z, _ := energy.Random{}.Hide(b, r)
	if !slices.Equal(x.Metered, y.Metered) {
		t.Error("same seed, different traces")
	}
	if slices.Equal(x.Metered, z.Metered) {
		t.Error("different seeds, same trace")
	}
}

func TestRegistry(t *testing.T) {
	var names []string
	for _, a := range energy.Algorithms() {
		names = append(names, a.Name())
		got, err := energy.Lookup(a.Name())
		if err != nil || got.Name() != a.Name() {
			t.Errorf("Lookup(%q) = %v, %v", a.Name(), got, err)
		}
	}
	if want := []string{"best-effort", "nill", "random", "stepping", "usapp"}; !slices.Equal(names, want) || !slices.Equal(energy.Names(), want) {
		t.Errorf("names %v, Names() %v, want %v", names, energy.Names(), want)
	}
	if _, err := energy.Lookup("none"); !errors.Is(err, energy.ErrUnknownAlgorithm) {
		t.Errorf("Lookup(none) = %v", err)
	}
}

// Property: on random demand and random valid batteries no algorithm breaks
// a limit or the balance, with or without ReturnSoC, prices, planned loads
// and a reserve.
func TestPhysicsProperty(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		minSoC := rapid.Float64Range(0, 0.8).Draw(rt, "min")
		maxSoC := rapid.Float64Range(minSoC+0.05, 1).Draw(rt, "max")
		b := energy.Battery{
			CapacityKWh:         rapid.Float64Range(0.05, 20).Draw(rt, "cap"),
			MaxChargeKW:         rapid.Float64Range(0, 10).Draw(rt, "charge"),
			MaxDischargeKW:      rapid.Float64Range(0, 10).Draw(rt, "discharge"),
			RoundTripEfficiency: rapid.Float64Range(0.3, 1).Draw(rt, "eta"),
			MinSoC:              minSoC,
			MaxSoC:              maxSoC,
			InitialSoC:          rapid.Float64Range(minSoC, maxSoC).Draw(rt, "init"),
		}
		n := rapid.IntRange(1, 300).Draw(rt, "n")
		peak := rapid.Float64Range(0, 8000).Draw(rt, "peak")
		demand := rapid.SliceOfN(rapid.Float64Range(0, peak), n, n).Draw(rt, "demand")
		r := energy.Run{
			Demand:    demand,
			Step:      time.Duration(rapid.IntRange(1, 3600).Draw(rt, "step")) * time.Second,
			ReturnSoC: rapid.Bool().Draw(rt, "return"),
			Seed:      rapid.Int64().Draw(rt, "seed"),
		}
		if rapid.Bool().Draw(rt, "prices") {
			r.Prices = rapid.SliceOfN(rapid.Float64Range(0, 1), n, n).Draw(rt, "prices")
		}
		if rapid.Bool().Draw(rt, "reserve") {
			r.Reserve = rapid.SliceOfN(rapid.Float64Range(0, 50), n, n).Draw(rt, "reserve")
		}
		for range rapid.IntRange(0, 3).Draw(rt, "planned") {
			from := rapid.IntRange(0, n-1).Draw(rt, "from")
			k := rapid.IntRange(1, n-from).Draw(rt, "len")
			r.Planned = append(r.Planned, energy.PlannedLoad{From: from, Power: rapid.SliceOfN(rapid.Float64Range(0, peak+3000), k, k).Draw(rt, "power")})
		}
		for _, a := range energy.Algorithms() {
			res, err := a.Hide(b, r)
			if err != nil {
				rt.Fatalf("%s: %v", a.Name(), err)
			}
			checkPhysics(rt, b, r, res)
		}
	})
}

func BenchmarkHide(b *testing.B) {
	r := ukdaleRun(b, true)
	bat := energy.DefaultBattery()
	for _, a := range energy.Algorithms() {
		b.Run(a.Name(), func(b *testing.B) {
			for b.Loop() {
				if _, err := a.Hide(bat, r); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "days/s")
		})
	}
}

func ExampleLookup() {
	tr, _ := household.UKDALE()
	a, _ := energy.Lookup("usapp")
	res, _ := a.Hide(energy.DefaultBattery(), energy.Run{Demand: tr.Mains, Step: tr.Step, ReturnSoC: true})
	end := res.SoC[len(res.SoC)-1]
	fmt.Printf("%d steps, ends at %.2f kWh\n", len(res.Metered), end)
	// Output: 720 steps, ends at 1.00 kWh
}

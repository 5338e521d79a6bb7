package energy

import (
	"errors"
	"math"
	"testing"
	"time"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// A hand-worked run: 1 kWh battery, 1 kW limits, η = 0.81 (0.9 each way),
// window 0..0.6, start 0.5, half-hour steps, 500 W demand.
func TestSimulatorHandTrace(t *testing.T) {
	b := Battery{CapacityKWh: 1, MaxChargeKW: 1, MaxDischargeKW: 1, RoundTripEfficiency: 0.81, MinSoC: 0, MaxSoC: 0.6, InitialSoC: 0.5}
	s, err := newSim(b, Run{Demand: []float64{500, 500, 500, 500}, Step: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	s.track(0)     // cover the whole demand: pB = 500/0.9
	s.apply(1000)  // SoC window binds: 0.2222 kWh left over half an hour
	s.apply(-2000) // charge limit binds
	s.apply(-1000) // SoC ceiling binds: 0.1 kWh of room
	want := []struct{ pB, pL, m, soc float64 }{
		{500 / 0.9, -500/0.9 + 500, 0, 0.5 - 500/0.9/2000},
		{(0.5 - 500/0.9/2000) * 2000, -(0.5 - 500/0.9/2000) * 2000 * 0.1, 500 - (0.5-500/0.9/2000)*2000*0.9, 0},
		{-1000, -1000/0.9 + 1000, 500 + 1000/0.9, 0.5},
		{-200, -200/0.9 + 200, 500 + 200/0.9, 0.6},
	}
	r := s.res
	for i, w := range want {
		if !near(r.Battery[i], w.pB) || !near(r.Loss[i], w.pL) || !near(r.Metered[i], w.m) || !near(r.SoC[i], w.soc) {
			t.Errorf("step %d: pB=%g pL=%g p_i=%g soc=%g, want %+v", i, r.Battery[i], r.Loss[i], r.Metered[i], r.SoC[i], w)
		}
		if !near(r.Metered[i]+r.Battery[i]+r.Loss[i], 500) {
			t.Errorf("step %d: balance broken", i)
		}
	}
}

// The sign convention of the contract: 1000 W out of the cells at 90 %
// delivers 900 W; 900 W into the cells draws 1000 W.
func TestSignConvention(t *testing.T) {
	b := Battery{CapacityKWh: 10, MaxChargeKW: 5, MaxDischargeKW: 5, RoundTripEfficiency: 0.81, MinSoC: 0, MaxSoC: 1, InitialSoC: 0.5}
	s, err := newSim(b, Run{Demand: []float64{2000, 2000}, Step: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	s.apply(1000)
	s.apply(-900)
	r := s.res
	if !near(r.Loss[0], -100) || !near(r.Metered[0], 1100) {
		t.Errorf("discharge: pL=%g p_i=%g", r.Loss[0], r.Metered[0])
	}
	if !near(r.Loss[1], -100) || !near(r.Metered[1], 3000) {
		t.Errorf("charge: pL=%g p_i=%g", r.Loss[1], r.Metered[1])
	}
	if !near(r.SoC[1], 5-1000.0/60/1000+900.0/60/1000) {
		t.Errorf("soc = %g", r.SoC[1])
	}
}

func TestNoExport(t *testing.T) {
	s, err := newSim(DefaultBattery(), Run{Demand: []float64{300}, Step: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if m := s.apply(3000); m != 0 || !near(s.res.Battery[0], 300/math.Sqrt(0.9)) {
		t.Errorf("p_i=%g pB=%g, want 0 and demand/√η", m, s.res.Battery[0])
	}
}

func TestReturnFunnelEndsAtInitial(t *testing.T) {
	b := DefaultBattery()
	d := make([]float64, 60)
	for i := range d {
		d[i] = 500
	}
	s, err := newSim(b, Run{Demand: d, Step: time.Minute, ReturnSoC: true})
	if err != nil {
		t.Fatal(err)
	}
	for s.t < s.n() {
		s.apply(-3000) // keep asking to charge
	}
	if end := s.res.SoC[len(d)-1]; !near(end, b.InitialSoC*b.CapacityKWh) {
		t.Errorf("end SoC %g kWh, want %g", end, b.InitialSoC*b.CapacityKWh)
	}
}

func TestBatteryValidate(t *testing.T) {
	if err := DefaultBattery().Validate(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		field string
		edit  func(*Battery)
	}{
		{"CapacityKWh", func(b *Battery) { b.CapacityKWh = 0 }},
		{"CapacityKWh", func(b *Battery) { b.CapacityKWh = math.Inf(1) }},
		{"MaxChargeKW", func(b *Battery) { b.MaxChargeKW = -1 }},
		{"MaxDischargeKW", func(b *Battery) { b.MaxDischargeKW = math.NaN() }},
		{"RoundTripEfficiency", func(b *Battery) { b.RoundTripEfficiency = 0 }},
		{"RoundTripEfficiency", func(b *Battery) { b.RoundTripEfficiency = 1.01 }},
		{"MinSoC", func(b *Battery) { b.MinSoC = -0.1 }},
		{"MaxSoC", func(b *Battery) { b.MaxSoC = 1.5 }},
		{"MinSoC", func(b *Battery) { b.MinSoC, b.MaxSoC = 0.9, 0.9 }},
		{"InitialSoC", func(b *Battery) { b.InitialSoC = 0.95 }},
	}
	for _, c := range cases {
		b := DefaultBattery()
		c.edit(&b)
		err := b.Validate()
		var fe *FieldError
		if !errors.Is(err, ErrBattery) || !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%s: got %v", c.field, err)
		}
		if _, herr := (USaPP{}).Hide(b, Run{Demand: []float64{1}, Step: time.Second}); !errors.Is(herr, ErrBattery) {
			t.Errorf("%s: Hide accepted the battery: %v", c.field, herr)
		}
	}
	// Every problem is reported, not only the first.
	b := Battery{CapacityKWh: -1, RoundTripEfficiency: 2, MinSoC: 0, MaxSoC: 1}
	var fields []string
	for _, e := range b.Validate().(interface{ Unwrap() []error }).Unwrap() {
		var fe *FieldError
		if errors.As(e, &fe) {
			fields = append(fields, fe.Field)
		}
	}
	if len(fields) != 2 || fields[0] != "CapacityKWh" || fields[1] != "RoundTripEfficiency" {
		t.Errorf("fields = %v", fields)
	}
}

func TestRunValidate(t *testing.T) {
	cases := []struct {
		field string
		r     Run
	}{
		{"Demand", Run{Step: time.Minute}},
		{"Demand[1]", Run{Demand: []float64{1, -1}, Step: time.Minute}},
		{"Demand[0]", Run{Demand: []float64{math.NaN()}, Step: time.Minute}},
		{"Step", Run{Demand: []float64{1}}},
		{"Prices", Run{Demand: []float64{1, 2}, Step: time.Minute, Prices: []float64{1}}},
		{"Prices[0]", Run{Demand: []float64{1}, Step: time.Minute, Prices: []float64{math.Inf(1)}}},
		{"Reserve", Run{Demand: []float64{1, 2}, Step: time.Minute, Reserve: []float64{1}}},
		{"Reserve[1]", Run{Demand: []float64{1, 2}, Step: time.Minute, Reserve: []float64{0, -0.5}}},
	}
	for _, c := range cases {
		err := c.r.Validate()
		var fe *FieldError
		if !errors.Is(err, ErrRun) || !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%s: got %v", c.field, err)
		}
	}
}

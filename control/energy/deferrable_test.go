package energy_test

import (
	"math"
	"testing"
	"time"

	"github.com/usapp/usapp/control/energy"
)

func TestIsDeferrable(t *testing.T) {
	for name, want := range map[string]bool{
		"washing_machine": true, "washing_machine_12": true, "dish_washer_1": true, "tumble_dryer": true,
		"kettle": false, "fridge_1": false, "dryer": false, "washing_machine_x": false,
	} {
		if got := energy.IsDeferrable(name); got != want {
			t.Errorf("IsDeferrable(%q) = %v, want %v", name, got, want)
		}
	}
}

// A washing machine that pauses 5 minutes is one run, and one that pauses
// an hour is two; a kettle is not planned; power is averaged per 15 minutes.
func TestPlannedLoadsFromAppliances(t *testing.T) {
	n := 400
	on := func(s []float64, from, to int, w float64) {
		for i := from; i < to; i++ {
			s[i] = w
		}
	}
	wm, dw, kettle := make([]float64, n), make([]float64, n), make([]float64, n)
	on(wm, 100, 130, 400)
	on(wm, 135, 145, 2000)
	on(wm, 300, 310, 500)
	on(dw, 200, 260, 1000)
	on(kettle, 50, 53, 2000)
	got := energy.PlannedLoads(map[string][]float64{"washing_machine": wm, "dish_washer_1": dw, "kettle": kettle}, time.Minute)
	if len(got) != 3 {
		t.Fatalf("got %d runs, want 3: %v", len(got), got)
	}
	for i, want := range []struct{ from, to int }{{100, 145}, {200, 260}, {300, 310}} {
		if got[i].From != want.from || got[i].To() != want.to {
			t.Errorf("run %d is [%d, %d), want [%d, %d)", i, got[i].From, got[i].To(), want.from, want.to)
		}
	}
	// The first run's third slot, steps 130-144, is a 5-minute pause and 10
	// minutes at 2 kW.
	if w := got[0].Power; w[0] != 400 || w[29] != 400 || math.Abs(w[30]-20000.0/15) > 1e-9 || math.Abs(w[44]-20000.0/15) > 1e-9 {
		t.Errorf("washing machine power sequence %v, want 400 W for two slots then 1333 W", w)
	}
}

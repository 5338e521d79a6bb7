package energy_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/usapp/usapp/control/energy"
)

// minuteDay is a day of 1-minute demand at base W with a load of w W from
// minute from for k minutes.
func minuteDay(base, w float64, from, k int) []float64 {
	d := make([]float64, 1440)
	for i := range d {
		d[i] = base
		if i >= from && i < from+k {
			d[i] = w
		}
	}
	return d
}

func TestReserveFromHistory(t *testing.T) {
	// 1,100 W for an hour from 18:00: 600 W above the threshold, 0.6 kWh.
	evening := minuteDay(100, 1100, 18*60, 60)
	got, err := energy.ReserveFromHistory([][]float64{evening}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		at   int // minute of the day
		want float64
	}{
		{14 * 60, 0},       // the load is more than 3 h ahead
		{15*60 + 30, 0.3},  // half of it within 3 h
		{17 * 60, 0.6},     // all of it
		{18*60 + 45, 0.15}, // the last quarter hour
		{19 * 60, 0},       // over
		{22*60 + 30, 0},    // only the day's own quiet start ahead
	} {
		if math.Abs(got[c.at]-c.want) > 1e-9 {
			t.Errorf("minute %d: reserve %.4f kWh, want %.4f", c.at, got[c.at], c.want)
		}
	}

	// A load just after midnight is ahead of the evening before (the day's
	// own start stands in for the next morning), and two days average.
	night := minuteDay(100, 1100, 30, 60)
	got, err = energy.ReserveFromHistory([][]float64{night, minuteDay(100, 100, 0, 0)}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if want := 0.3; math.Abs(got[23*60]-want) > 1e-9 {
		t.Errorf("23:00 with a 00:30 load on one day of two: %.4f kWh, want %.4f", got[23*60], want)
	}
}

func TestReserveFromHistoryRejects(t *testing.T) {
	day := minuteDay(100, 100, 0, 0)
	bad := minuteDay(100, 100, 0, 0)
	bad[7] = math.NaN()
	for _, c := range []struct {
		field   string
		history [][]float64
		step    time.Duration
	}{
		{"history", nil, time.Minute},
		{"step", [][]float64{day}, 0},
		{"history[1]", [][]float64{day, day[:1000]}, time.Minute},
		{"step", [][]float64{day}, 7 * time.Minute}, // 7 min does not divide a day
		{"history[1][7]", [][]float64{day, bad}, time.Minute},
	} {
		_, err := energy.ReserveFromHistory(c.history, c.step)
		var fe *energy.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || !errors.Is(err, energy.ErrRun) {
			t.Errorf("%s: got %v, want a *FieldError for %s wrapping ErrRun", c.field, err, c.field)
		}
	}
}

// With the history of a home that cooks at 18:00, USaPP is fuller when the
// cooking starts and the meter shows less of it; the day still ends where it
// began.
func TestUSaPPKeepsChargeForTheLoadsAhead(t *testing.T) {
	day := minuteDay(150, 2400, 18*60, 30)
	reserve, err := energy.ReserveFromHistory([][]float64{day}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	b := energy.DefaultBattery()
	without := energy.Run{Demand: day, Step: time.Minute, ReturnSoC: true}
	with := without
	with.Reserve = reserve
	r0, err := energy.USaPP{}.Hide(b, without)
	if err != nil {
		t.Fatal(err)
	}
	r1, err := energy.USaPP{}.Hide(b, with)
	if err != nil {
		t.Fatal(err)
	}
	checkPhysics(t, b, with, r1)
	// The result says what USaPP steered to: two hours (its horizon) before
	// the load, a target raised by the reserve.
	if len(r1.Target) != len(day) || len(r0.Target) != len(day) {
		t.Fatalf("targets of %d and %d steps for a day of %d", len(r1.Target), len(r0.Target), len(day))
	}
	if r1.Target[16*60]-r0.Target[16*60] < 0.3 {
		t.Errorf("target at 16:00 for 18:00: %.2f kWh with the reserve, %.2f without; want at least 0.3 more",
			r1.Target[16*60], r0.Target[16*60])
	}
	before := 18*60 - 1
	if r1.SoC[before] < r0.SoC[before]+0.3 {
		t.Errorf("charge before the load: %.2f kWh with the reserve, %.2f without; want at least 0.3 more", r1.SoC[before], r0.SoC[before])
	}
	shown := func(res *energy.Result) (kWh float64) {
		for i := 18 * 60; i < 18*60+30; i++ {
			kWh += res.Metered[i] / 60 / 1000
		}
		return kWh
	}
	if s0, s1 := shown(r0), shown(r1); s1 >= s0 {
		t.Errorf("metered energy during the load: %.3f kWh with the reserve, %.3f without; want less", s1, s0)
	}
	if end, start := r1.SoC[len(day)-1], b.InitialSoC*b.CapacityKWh; math.Abs(end-start) > 0.01 {
		t.Errorf("day ends at %.3f kWh, began at %.3f", end, start)
	}
}

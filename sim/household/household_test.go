package household

import (
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestUKDALEEmbedded(t *testing.T) {
	tr, err := UKDALE()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2013, 6, 7, 23, 0, 0, 0, time.UTC)
	if tr.Len() != 720 || !tr.Start.Equal(start) || tr.Step != 2*time.Minute {
		t.Fatalf("got %d rows from %v step %v; want 720 from %v step 2m", tr.Len(), tr.Start, tr.Step, start)
	}
	if !tr.End().Equal(start.Add(24 * time.Hour)) {
		t.Fatalf("End = %v", tr.End())
	}
	if len(tr.Appliances) != 18 {
		t.Fatalf("%d appliances, want 18", len(tr.Appliances))
	}
	if _, ok := tr.Appliances["synthetic_mains"]; ok {
		t.Fatal("synthetic_mains kept as an appliance")
	}
	for name, s := range tr.Appliances {
		if len(s) != tr.Len() {
			t.Fatalf("%s has %d samples", name, len(s))
		}
	}
	// First row of the file: kettle_1 0.84 W, fridge_1 87.75 W, mains 174.35 W.
	if tr.Mains[0] != 174.35 || tr.Appliances["kettle_1"][0] != 0.84 || tr.Appliances["fridge_1"][0] != 87.75 {
		t.Fatalf("first row: mains %v kettle %v fridge %v", tr.Mains[0], tr.Appliances["kettle_1"][0], tr.Appliances["fridge_1"][0])
	}
	// Each call is an independent copy.
	tr.Mains[0] = -1
	again, _ := UKDALE()
	if again.Mains[0] != 174.35 {
		t.Fatal("UKDALE returned shared storage")
	}
}

func TestLoadUKDALEFileMatchesEmbedded(t *testing.T) {
	f, err := os.Open("testdata/ukdale_house2_2013-06-08_2min_W.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fromFile, err := LoadUKDALE(f, "ukdale_house2_2013-06-08_2min_W.csv")
	if err != nil {
		t.Fatal(err)
	}
	embedded, _ := UKDALE()
	if !reflect.DeepEqual(fromFile, embedded) {
		t.Fatal("file and embedded copy differ")
	}
}

func TestLoadUCI(t *testing.T) {
	f, err := os.Open("testdata/uci_household_power_consumption_excerpt_2006-12-16_1min.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr, err := LoadUCI(f, "uci.txt")
	if err != nil {
		t.Fatal(err)
	}
	if tr.Len() != 2203 || tr.Step != time.Minute || !tr.Start.Equal(time.Date(2006, 12, 16, 17, 24, 0, 0, time.UTC)) {
		t.Fatalf("got %d rows from %v step %v", tr.Len(), tr.Start, tr.Step)
	}
	// First row: 4.216 kW; sub-meters 0, 1 and 17 Wh in one minute = 0, 60, 1020 W.
	if tr.Mains[0] != 4216 {
		t.Fatalf("mains[0] = %v W, want 4216", tr.Mains[0])
	}
	want := map[string]float64{"kitchen": 0, "laundry_fridge": 60, "water_heater_ac": 1020}
	for name, w := range want {
		if got := tr.Appliances[name][0]; got != w {
			t.Errorf("%s[0] = %v W, want %v", name, got, w)
		}
	}
	// Sub-metered loads are part of the whole house.
	for i := range tr.Mains {
		sum := tr.Appliances["kitchen"][i] + tr.Appliances["laundry_fridge"][i] + tr.Appliances["water_heater_ac"][i]
		if sum > tr.Mains[i]*1.05+60 {
			t.Fatalf("row %d: sub-meters %v W exceed mains %v W", i, sum, tr.Mains[i])
		}
	}
}

func TestEnergyWh(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	tr := &Trace{Start: t0, Step: 10 * time.Minute, Mains: []float64{600, 1200, 0, 300}}
	min := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	cases := []struct {
		from, to time.Time
		want     float64
	}{
		{t0, tr.End(), 100 + 200 + 0 + 50},
		{min(5), min(25), 50 + 200 + 0},           // half of step 0, all of 1, half of 2
		{min(-60), min(10), 100},                  // before the trace counts as zero
		{min(35), min(999), 25},                   // half of the last step, then nothing
		{min(12), min(13), 1200.0 / 60},           // inside one step
		{min(20), min(10), 0},                     // reversed
		{tr.End(), tr.End().Add(time.Hour), 0},    // after
		{min(0), min(0).Add(30 * time.Second), 5}, // 600 W for 30 s
	}
	for _, c := range cases {
		if got := tr.EnergyWh(c.from, c.to); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("EnergyWh(%v, %v) = %v, want %v", c.from.Sub(t0), c.to.Sub(t0), got, c.want)
		}
	}
}

func TestResamplePreservesEnergy(t *testing.T) {
	tr, _ := UKDALE()
	r, err := tr.Resample(30 * time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != 48 || r.Step != 30*time.Minute || !r.Start.Equal(tr.Start) {
		t.Fatalf("resampled: %d samples step %v", r.Len(), r.Step)
	}
	if a, b := tr.EnergyWh(tr.Start, tr.End()), r.EnergyWh(r.Start, r.End()); math.Abs(a-b) > 1e-6 {
		t.Fatalf("energy %v Wh became %v Wh", a, b)
	}
	// Energy is preserved over every coarse step, and per appliance.
	for i := 0; i < r.Len(); i++ {
		from := r.Start.Add(time.Duration(i) * r.Step)
		if a, b := tr.EnergyWh(from, from.Add(r.Step)), r.EnergyWh(from, from.Add(r.Step)); math.Abs(a-b) > 1e-6 {
			t.Fatalf("step %d: %v Wh became %v Wh", i, a, b)
		}
	}
	k1, k2 := sum(tr.Appliances["kettle_1"]), sum(r.Appliances["kettle_1"])*15
	if math.Abs(k1-k2) > 1e-6 {
		t.Fatalf("kettle energy changed: %v vs %v", k1, k2)
	}
	// A trailing partial step is dropped: 720 samples in 7-sample blocks.
	r14, err := tr.Resample(14 * time.Minute)
	if err != nil || r14.Len() != 102 {
		t.Fatalf("14 min: %v samples, err %v; want 102", r14.Len(), err)
	}
	for _, bad := range []time.Duration{time.Minute, 3 * time.Minute, 0, -2 * time.Minute} {
		if _, err := tr.Resample(bad); !errors.Is(err, ErrStep) {
			t.Errorf("Resample(%v) err = %v, want ErrStep", bad, err)
		}
	}
}

func sum(s []float64) float64 {
	t := 0.0
	for _, v := range s {
		t += v
	}
	return t
}

func TestSyntheticDeterministic(t *testing.T) {
	a := Synthetic{Seed: 42}.Generate()
	b := Synthetic{Seed: 42}.Generate()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed, different traces")
	}
	c := Synthetic{Seed: 43}.Generate()
	if reflect.DeepEqual(a.Mains, c.Mains) {
		t.Fatal("different seeds, same mains")
	}
	if a.Len() != 1440 || a.Step != time.Minute || !a.Start.Equal(defaultStart) {
		t.Fatalf("defaults: %d samples step %v start %v", a.Len(), a.Step, a.Start)
	}
}

// The event times do not depend on the step, so a home generated at 30-min
// resolution is the 1-min home averaged.
func TestSyntheticStepIndependent(t *testing.T) {
	fine := Synthetic{Seed: 7}.Generate()
	coarse := Synthetic{Seed: 7, Step: 30 * time.Minute}.Generate()
	avg, err := fine.Resample(30 * time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for i := range coarse.Mains {
		if math.Abs(coarse.Mains[i]-avg.Mains[i]) > 1e-6 {
			t.Fatalf("step %d: %v W at 30 min, %v W averaged from 1 min", i, coarse.Mains[i], avg.Mains[i])
		}
	}
}

func TestSyntheticPlausible(t *testing.T) {
	const homes = 200
	inRange := 0
	var hourly [24]float64 // kettle energy by hour, all homes
	for seed := int64(0); seed < homes; seed++ {
		tr := Synthetic{Seed: seed}.Generate()
		if kwh := tr.EnergyWh(tr.Start, tr.End()) / 1000; kwh >= 3 && kwh <= 20 {
			inRange++
		}
		checkSums(t, tr)
		base := tr.Appliances["base"]
		if base[0] < 50 || base[0] > 150 || base[0] != base[len(base)-1] {
			t.Fatalf("seed %d: base load %v..%v W", seed, base[0], base[len(base)-1])
		}
		if ff, ok := tr.Appliances["fridge_freezer"]; ok {
			// Refrigeration cycles all day: every 3-hour window has some.
			for h := 0; h < 24; h += 3 {
				if sum(ff[h*60:(h+3)*60]) == 0 {
					t.Fatalf("seed %d: fridge-freezer idle %02d:00-%02d:00", seed, h, h+3)
				}
			}
		}
		for i, v := range tr.Appliances["kettle"] {
			hourly[i/60] += v
		}
	}
	if inRange < homes*95/100 {
		t.Fatalf("%d of %d homes use 3-20 kWh a day, want 95%%", inRange, homes)
	}
	night := hourly[1] + hourly[2] + hourly[3] + hourly[4]
	morning := hourly[7] + hourly[8] + hourly[9] + hourly[10]
	evening := hourly[17] + hourly[18] + hourly[19] + hourly[20]
	if morning < 5*night || evening < 5*night {
		t.Fatalf("kettle use not peaked: night %v, morning %v, evening %v", night, morning, evening)
	}
}

// checkSums asserts mains = base + sum of appliances, all non-negative.
func checkSums(t *testing.T, tr *Trace) {
	t.Helper()
	for i, m := range tr.Mains {
		total := 0.0
		for name, s := range tr.Appliances {
			if s[i] < 0 || math.IsNaN(s[i]) {
				t.Fatalf("%s: %s[%d] = %v", tr.Name, name, i, s[i])
			}
			total += s[i]
		}
		if math.Abs(total-m) > 1e-9*max(1, m) {
			t.Fatalf("%s: mains[%d] = %v, appliances sum to %v", tr.Name, i, m, total)
		}
	}
}

const ukHeader = "unix_ts,kettle_1,fridge_1,mains,synthetic_mains\n"

func ukRows(rows ...string) string { return ukHeader + strings.Join(rows, "\n") + "\n" }

func TestLoadUKDALEErrors(t *testing.T) {
	ok1, ok2 := "1000,0,90,150,90", "1120,2000,0,2100,2000"
	cases := []struct {
		name  string
		in    string
		line  int
		field string
		err   error
	}{
		{"truncated row", ukRows(ok1, ok2, "1240,0,9"), 4, "", ErrMalformed},
		{"truncated at EOF", ukHeader + ok1 + "\n" + ok2 + "\n1240,0,90,1", 4, "", ErrMalformed},
		{"bad number", ukRows(ok1, "1120,abc,0,2100,2000"), 3, "kettle_1", ErrMalformed},
		{"bad timestamp", ukRows(ok1, "11x0,0,0,2100,2000"), 3, "unix_ts", ErrMalformed},
		{"gap", ukRows(ok1, ok2, "1240,0,90,150,90", "1480,0,90,150,90"), 5, "unix_ts", ErrGap},
		{"backwards", ukRows(ok1, ok2, "1100,0,90,150,90"), 4, "unix_ts", ErrNonMonotonic},
		{"repeated", ukRows(ok1, ok2, "1120,0,90,150,90"), 4, "unix_ts", ErrNonMonotonic},
		{"negative", ukRows(ok1, "1120,0,-3,2100,2000"), 3, "fridge_1", ErrBadValue},
		{"NaN", ukRows(ok1, "1120,0,0,NaN,2000"), 3, "mains", ErrBadValue},
		{"Inf", ukRows(ok1, "1120,+Inf,0,2100,2000"), 3, "kettle_1", ErrBadValue},
		{"kW not W", ukRows("1000,0,0.09,0.15,0.09", "1120,2,0,2.1,2"), 2, "mains", ErrUnits},
		{"mW not W", ukRows(ok1, "1120,0,0,2100000,2000"), 3, "mains", ErrUnits},
		{"no mains", "unix_ts,kettle_1\n1000,0\n1120,0\n", 1, "", ErrHeader},
		{"wrong first column", "time,mains\n1000,200\n1120,200\n", 1, "", ErrHeader},
		{"repeated column", "unix_ts,mains,mains\n1000,200,200\n", 1, "", ErrHeader},
		{"header only", ukHeader, 1, "", ErrTooShort},
		{"one row", ukRows(ok1), 2, "", ErrTooShort},
		{"empty", "", 1, "", ErrTooShort},
		{"blank line", ukRows(ok1, "", ok2), 3, "", ErrMalformed},
		{"long line", ukRows(ok1, strings.Repeat("1", maxLine+1)), 3, "", ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadUKDALE(strings.NewReader(c.in), "h.csv")
			checkParseError(t, err, "h.csv", c.line, c.field, c.err)
		})
	}
}

func checkParseError(t *testing.T, err error, file string, line int, field string, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("unexpected error %v", err)
		}
		return
	}
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v (%T), want *ParseError", err, err)
	}
	if !errors.Is(err, want) || pe.File != file || pe.Line != line || pe.Field != field {
		t.Fatalf("err = %#v (%v); want %s line %d field %q wrapping %v", pe, err, file, line, field, want)
	}
}

const uciHeader = "Date;Time;Global_active_power;Global_reactive_power;Voltage;Global_intensity;Sub_metering_1;Sub_metering_2;Sub_metering_3\n"

func uciRows(rows ...string) string { return uciHeader + strings.Join(rows, "\n") + "\n" }

func uciLine(min int, kw string) string {
	return fmt.Sprintf("16/12/2006;17:%02d:00;%s;0.418;234.840;18.400;0.000;1.000;17.000", min, kw)
}

func TestLoadUCIErrors(t *testing.T) {
	cases := []struct {
		name  string
		in    string
		line  int
		field string
		err   error
	}{
		{"missing power", uciRows(uciLine(24, "4.216"), uciLine(25, "4.2"), uciLine(26, "?")), 4, "Global_active_power", ErrMissing},
		{"missing sub-meter", uciRows(uciLine(24, "4.216"), "16/12/2006;17:25:00;4.2;0.4;234;18;?;1;17"), 3, "Sub_metering_1", ErrMissing},
		{"truncated", uciRows(uciLine(24, "4.216"), "16/12/2006;17:25:00;4.2"), 3, "", ErrMalformed},
		{"bad number", uciRows(uciLine(24, "4.216"), uciLine(25, "4,2")), 3, "Global_active_power", ErrMalformed},
		{"no such date", uciRows(uciLine(24, "4.216"), "31/2/2007;17:25:00;4.2;0.4;234;18;0;1;17"), 3, "Date", ErrMalformed},
		{"gap", uciRows(uciLine(24, "4.216"), uciLine(25, "4.2"), uciLine(27, "4.2")), 4, "Time", ErrGap},
		{"backwards", uciRows(uciLine(24, "4.216"), uciLine(25, "4.2"), uciLine(23, "4.2")), 4, "Time", ErrNonMonotonic},
		{"W not kW", uciRows(uciLine(24, "4216"), uciLine(25, "4.2")), 2, "Global_active_power", ErrUnits},
		{"missing column", "Date;Time;Voltage\n16/12/2006;17:24:00;230\n", 1, "", ErrHeader},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadUCI(strings.NewReader(c.in), "u.txt")
			checkParseError(t, err, "u.txt", c.line, c.field, c.err)
		})
	}
}

// A '?' deep in the real file is reported at its own line.
func TestLoadUCIMissingInRealFile(t *testing.T) {
	raw, err := os.ReadFile("testdata/uci_household_power_consumption_excerpt_2006-12-16_1min.txt")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	f := strings.Split(lines[99], ";") // line 100
	f[2] = "?"
	lines[99] = strings.Join(f, ";")
	_, err = LoadUCI(strings.NewReader(strings.Join(lines, "\n")), "uci.txt")
	checkParseError(t, err, "uci.txt", 100, "Global_active_power", ErrMissing)
}

func TestParseErrorMessage(t *testing.T) {
	_, err := LoadUKDALE(strings.NewReader(ukRows("1000,0,90,150,90", "1120,abc,0,2100,2000")), "h.csv")
	if got, want := err.Error(), "h.csv:3: kettle_1: household: malformed row: not a number"; got != want {
		t.Fatalf("message %q, want %q", got, want)
	}
}

func ExampleUKDALE() {
	tr, err := UKDALE()
	if err != nil {
		panic(err)
	}
	fmt.Println(tr.Len(), tr.Start.Format(time.RFC3339), tr.Step)
	fmt.Printf("%.2f kWh\n", tr.EnergyWh(tr.Start, tr.End())/1000)
	// Output:
	// 720 2013-06-07T23:00:00Z 2m0s
	// 7.42 kWh
}

func ExampleSynthetic() {
	tr := Synthetic{Seed: 1, Step: 30 * time.Minute}.Generate()
	fmt.Println(tr.Name, tr.Len(), tr.Step)
	// Output: synthetic-1 48 30m0s
}

func BenchmarkSynthetic(b *testing.B) {
	const homes = 1000
	for b.Loop() {
		for seed := int64(0); seed < homes; seed++ {
			_ = Synthetic{Seed: seed}.Generate()
		}
	}
	b.ReportMetric(float64(b.N)*homes/b.Elapsed().Seconds(), "homes/s")
}

func BenchmarkLoadUKDALE(b *testing.B) {
	for b.Loop() {
		if _, err := UKDALE(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*720/b.Elapsed().Seconds(), "rows/s")
}

// Day 0 is the home's reference day, as generated before Day existed; other
// days of the same home share its appliances and base load and differ in
// when they run.
func TestSyntheticDaysShareTheHome(t *testing.T) {
	ref := Synthetic{Seed: 3}.Generate()
	if again := (Synthetic{Seed: 3, Day: 0}).Generate(); !slices.Equal(again.Mains, ref.Mains) {
		t.Fatal("Day 0 differs from the default day")
	}
	other := Synthetic{Seed: 3, Day: -1}.Generate()
	if slices.Equal(other.Mains, ref.Mains) {
		t.Fatal("Day -1 is the same day as Day 0")
	}
	if len(other.Appliances) != len(ref.Appliances) || other.Appliances["base"][0] != ref.Appliances["base"][0] {
		t.Errorf("Day -1 has %d appliances and base %.1f W, Day 0 %d and %.1f W", len(other.Appliances), other.Appliances["base"][0], len(ref.Appliances), ref.Appliances["base"][0])
	}
	for name := range ref.Appliances {
		if _, ok := other.Appliances[name]; !ok {
			t.Errorf("Day -1 lacks %s", name)
		}
	}
}

// History is the days before s.Day, most recent first, each starting a day
// earlier at the same time of day: what the home drew on those days.
func TestSyntheticHistory(t *testing.T) {
	start := time.Date(2026, 11, 24, 7, 30, 0, 0, time.UTC)
	home := Synthetic{Seed: 3, Day: 5, Start: start, Duration: 6 * time.Hour}
	h := home.History(3)
	if len(h) != 3 {
		t.Fatalf("%d days of history, want 3", len(h))
	}
	for k, d := range h {
		want := Synthetic{Seed: 3, Day: int64(4 - k), Start: start.AddDate(0, 0, -(k + 1)), Duration: 6 * time.Hour}.Generate()
		if !d.Start.Equal(want.Start) || d.Step != want.Step || !slices.Equal(d.Mains, want.Mains) {
			t.Errorf("history[%d] starts %v with %d steps; want day %d from %v", k, d.Start, len(d.Mains), 4-k, want.Start)
		}
	}
	if slices.Equal(h[0].Mains, home.Generate().Mains) {
		t.Error("the day before is the same day")
	}
	if len(home.History(0)) != 0 || len(home.History(-1)) != 0 {
		t.Error("history of n <= 0 days is not empty")
	}
}

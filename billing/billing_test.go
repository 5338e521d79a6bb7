package billing

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func reg(start string, minutes int, wh int64) Register {
	return Register{Start: utc(start), Interval: time.Duration(minutes) * time.Minute, EnergyWh: wh}
}

func billFor(t *testing.T, tariff Tariff, regs ...Register) Bill {
	t.Helper()
	b, err := NewBiller(tariff)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range regs {
		if err := b.Add("m1", r); err != nil {
			t.Fatal(err)
		}
	}
	bills := b.Bills()
	if len(bills) != 1 {
		t.Fatalf("%d bills", len(bills))
	}
	return bills[0]
}

func checkBill(t *testing.T, got Bill, byBand map[string]int64, cost float64, days int) {
	t.Helper()
	if !reflect.DeepEqual(got.ByBand, byBand) || got.Cost != cost || got.Days != days {
		t.Fatalf("bill %+v; want by band %v, cost %v, days %d", got, byBand, cost, days)
	}
	var sum int64
	for _, wh := range got.ByBand {
		sum += wh
	}
	if sum != got.EnergyWh {
		t.Fatalf("bands sum to %d Wh, total %d Wh", sum, got.EnergyWh)
	}
}

// Winter: London time is UTC. Night 0.14, default 0.28, peak 0.42 GBP/kWh,
// 0.60 GBP a day.
func TestBillOneRegisterPerBand(t *testing.T) {
	got := billFor(t, DefaultTariff(),
		reg("2024-01-15T02:00:00Z", 30, 1000), // night: 1 kWh × 0.14 = 0.14
		reg("2024-01-15T12:00:00Z", 30, 500),  // default: 0.5 × 0.28 = 0.14
		reg("2024-01-15T17:00:00Z", 30, 2000), // peak: 2 × 0.42 = 0.84
	)
	// 0.14 + 0.14 + 0.84 + one day 0.60 = 1.72
	checkBill(t, got, map[string]int64{"night": 1000, "default": 500, "peak": 2000}, 1.72, 1)
	if got.Registers != 3 || got.EnergyWh != 3500 || got.Meter != "m1" {
		t.Fatalf("bill %+v", got)
	}
}

func TestBillStraddlingRegister(t *testing.T) {
	// 07:15-07:45: 15 min night, 15 min default; 600 Wh -> 300 + 300.
	// 0.3 × 0.14 + 0.3 × 0.28 + 0.60 = 0.042 + 0.084 + 0.60 = 0.726 -> 0.73
	checkBill(t, billFor(t, DefaultTariff(), reg("2024-01-15T07:15:00Z", 30, 600)),
		map[string]int64{"night": 300, "default": 300}, 0.73, 1)
	// 07:20-07:50: a third at night, 333.3 Wh rounds to 333 and the rest, 667, is default.
	// 0.333 × 0.14 + 0.667 × 0.28 + 0.60 = 0.04662 + 0.18676 + 0.60 = 0.83338 -> 0.83
	checkBill(t, billFor(t, DefaultTariff(), reg("2024-01-15T07:20:00Z", 30, 1000)),
		map[string]int64{"night": 333, "default": 667}, 0.83, 1)
	// A 2-hour register over the whole peak edge 15:30-17:30: 30 min default, 90 min peak.
	checkBill(t, billFor(t, DefaultTariff(), reg("2024-01-15T15:30:00Z", 120, 4000)),
		map[string]int64{"default": 1000, "peak": 3000}, math.Round((0.28+3*0.42+0.60)*100)/100, 1)
}

func TestBillFollowsDaylightSaving(t *testing.T) {
	// 15:30 UTC is 15:30 GMT in January (default) but 16:30 BST in July (peak).
	checkBill(t, billFor(t, DefaultTariff(), reg("2024-01-15T15:30:00Z", 30, 1000)),
		map[string]int64{"default": 1000}, 0.88, 1)
	checkBill(t, billFor(t, DefaultTariff(), reg("2024-07-15T15:30:00Z", 30, 1000)),
		map[string]int64{"peak": 1000}, 1.02, 1)
	// Night starts 00:30 BST = 23:30 UTC the day before, in summer.
	checkBill(t, billFor(t, DefaultTariff(), reg("2024-07-15T23:15:00Z", 30, 1000)),
		map[string]int64{"default": 500, "night": 500}, math.Round((0.5*0.28+0.5*0.14+0.60)*100)/100, 1)
	// Days are local: 22:30Z is the 15th in London, 23:30Z already the 16th.
	got := billFor(t, DefaultTariff(), reg("2024-07-15T22:30:00Z", 30, 0), reg("2024-07-15T23:30:00Z", 30, 0))
	if got.Days != 2 || got.Cost != 1.20 {
		t.Fatalf("days %d cost %v, want 2 days, 1.20", got.Days, got.Cost)
	}
}

// A band inside the spring-forward gap gets nothing; a band inside the
// repeated hour of autumn gets both hours.
func TestBillDSTGapAndRepeat(t *testing.T) {
	tariff := Tariff{Name: "t", Currency: "GBP", Timezone: "Europe/London", DefaultPricePerKWh: 0.10,
		Bands: []Band{{Name: "one", From: "01:00", To: "02:00", PricePerKWh: 1}}}
	// 2024-03-31: 01:00 GMT jumps to 02:00 BST. 00:30Z-01:30Z is local 00:30-01:00 GMT
	// then 02:00-02:30 BST: never in 01:00-02:00.
	checkBill(t, billFor(t, tariff, reg("2024-03-31T00:30:00Z", 60, 1200)),
		map[string]int64{"default": 1200}, 0.12, 1)
	// 2024-10-27: 02:00 BST falls back to 01:00 GMT. 00:00Z-02:00Z is local 01:00-02:00
	// twice over, all in band "one".
	checkBill(t, billFor(t, tariff, reg("2024-10-27T00:00:00Z", 120, 1200)),
		map[string]int64{"one": 1200}, 1.20, 1)
}

func TestPriceAt(t *testing.T) {
	tariff := DefaultTariff()
	cases := []struct {
		at    string
		band  string
		price float64
	}{
		{"2024-01-15T00:29:59Z", "default", 0.28},
		{"2024-01-15T00:30:00Z", "night", 0.14},
		{"2024-01-15T07:29:59Z", "night", 0.14},
		{"2024-01-15T07:30:00Z", "default", 0.28},
		{"2024-01-15T16:00:00Z", "peak", 0.42},
		{"2024-01-15T19:00:00Z", "default", 0.28},
		{"2024-07-15T14:59:59Z", "default", 0.28},
		{"2024-07-15T15:00:00Z", "peak", 0.42},  // 16:00 BST
		{"2024-07-15T23:30:00Z", "night", 0.14}, // 00:30 BST
	}
	for _, c := range cases {
		if band, price := tariff.PriceAt(utc(c.at)); band != c.band || price != c.price {
			t.Errorf("PriceAt(%s) = %s %v, want %s %v", c.at, band, price, c.band, c.price)
		}
	}
	wrap := Tariff{Name: "w", Currency: "EUR", DefaultPricePerKWh: 0.3,
		Bands: []Band{{Name: "off", From: "22:00", To: "06:00", PricePerKWh: 0.1}, {Name: "eve", From: "18:00", To: "22:00", PricePerKWh: 0.5}}}
	for at, want := range map[string]string{"2024-01-15T23:00:00Z": "off", "2024-01-15T05:59:00Z": "off", "2024-01-15T06:00:00Z": "default", "2024-01-15T21:59:59Z": "eve"} {
		if band, _ := wrap.PriceAt(utc(at)); band != want {
			t.Errorf("wrapping tariff at %s: %s, want %s", at, band, want)
		}
	}
}

// fieldErrors collects the *FieldError values joined in err.
func fieldErrors(err error) map[string]error {
	out := map[string]error{}
	var walk func(error)
	walk = func(e error) {
		var fe *FieldError
		if errors.As(e, &fe) && fe == e {
			out[fe.Field] = fe.Err
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
		}
	}
	if err != nil {
		walk(err)
	}
	return out
}

func TestValidate(t *testing.T) {
	ok := func(bands ...Band) Tariff {
		return Tariff{Name: "t", Currency: "GBP", DefaultPricePerKWh: 0.2, Bands: bands}
	}
	band := func(name, from, to string) Band { return Band{Name: name, From: from, To: to, PricePerKWh: 0.1} }
	valid := []Tariff{
		DefaultTariff(),
		ok(),
		ok(band("a", "00:00", "24:00")),
		ok(band("a", "07:00", "16:00"), band("b", "16:00", "19:00")),
		ok(band("a", "23:00", "07:00"), band("b", "07:00", "08:00")),
	}
	for i, tr := range valid {
		if err := tr.Validate(); err != nil {
			t.Errorf("valid[%d]: %v", i, err)
		}
	}
	withTZ := ok()
	withTZ.Timezone = "Mars/Olympus_Mons"
	neg := ok(Band{Name: "a", From: "01:00", To: "02:00", PricePerKWh: -1})
	neg.DefaultPricePerKWh, neg.StandingChargePerDay = -0.1, math.NaN()
	cases := []struct {
		name   string
		tariff Tariff
		want   map[string]error
	}{
		{"bad times", ok(band("a", "7:30", "08:00"), band("b", "12:60", "24:01"), band("c", "24:00", "01:00")),
			map[string]error{"bands[0].from": ErrTime, "bands[1].from": ErrTime, "bands[1].to": ErrTime, "bands[2].from": ErrTime}},
		{"overlap", ok(band("a", "07:00", "16:00"), band("b", "15:59", "19:00")),
			map[string]error{"bands[1]": ErrOverlap}},
		{"overlap across midnight", ok(band("a", "23:00", "01:00"), band("b", "00:30", "07:30")),
			map[string]error{"bands[1]": ErrOverlap}},
		{"empty band", ok(band("a", "07:00", "07:00"), band("b", "00:00", "00:00")),
			map[string]error{"bands[0].to": ErrEmptyBand, "bands[1].to": ErrEmptyBand}},
		{"negative prices", neg,
			map[string]error{"bands[0].price_per_kwh": ErrPrice, "default_price_per_kwh": ErrPrice, "standing_charge_per_day": ErrPrice}},
		{"unknown zone", withTZ, map[string]error{"timezone": ErrTimezone}},
		{"names", ok(band("", "01:00", "02:00"), band("x", "02:00", "03:00"), band("x", "03:00", "04:00"), band(DefaultBand, "05:00", "06:00")),
			map[string]error{"bands[0].name": ErrName, "bands[2].name": ErrName, "bands[3].name": ErrName}},
		{"header", Tariff{Currency: "gbp"}, map[string]error{"name": ErrName, "currency": ErrCurrency}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.tariff.Validate()
			got := fieldErrors(err)
			if len(got) != len(c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			for field, want := range c.want {
				if !errors.Is(got[field], want) {
					t.Errorf("%s: got %v, want %v", field, got[field], want)
				}
			}
			if _, err := NewBiller(c.tariff); err == nil {
				t.Error("NewBiller accepted an invalid tariff")
			}
		})
	}
}

func TestAddRejects(t *testing.T) {
	b, _ := NewBiller(DefaultTariff())
	bad := []struct {
		meter string
		r     Register
		err   error
	}{
		{"", reg("2024-01-15T02:00:00Z", 30, 1), ErrMeter},
		{"m", reg("2024-01-15T02:00:00Z", 0, 1), ErrRegister},
		{"m", reg("2024-01-15T02:00:00Z", 25*60, 1), ErrRegister},
		{"m", reg("2024-01-15T02:00:00Z", 30, -1), ErrRegister},
	}
	for _, c := range bad {
		if err := b.Add(c.meter, c.r); !errors.Is(err, c.err) {
			t.Errorf("Add(%q, %+v) = %v, want %v", c.meter, c.r, err, c.err)
		}
	}
	if err := b.Add("m", reg("2024-01-15T02:00:00Z", 30, math.MaxInt64)); err != nil {
		t.Fatal(err)
	}
	if err := b.Add("m", reg("2024-01-15T03:00:00Z", 30, 1)); !errors.Is(err, ErrRegister) {
		t.Fatalf("overflow: %v", err)
	}
	bills := b.Bills()
	if len(bills) != 1 || bills[0].Registers != 1 || bills[0].EnergyWh != math.MaxInt64 {
		t.Fatalf("rejected registers changed the bill: %+v", bills)
	}
}

// Property: bills depend only on the set of registers, not their order, and
// every split adds up to the register.
func TestBillsOrderIndependent(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		base := utc("2024-03-30T00:00:00Z") // spans the spring DST change
		n := rapid.IntRange(1, 40).Draw(t, "n")
		regs := make([]Register, n)
		meters := make([]string, n)
		for i := range regs {
			regs[i] = Register{
				Start:    base.Add(time.Duration(rapid.IntRange(0, 4*24*60).Draw(t, "min")) * time.Minute),
				Interval: time.Duration(rapid.IntRange(1, 24*60).Draw(t, "len")) * time.Minute,
				EnergyWh: rapid.Int64Range(0, 1<<40).Draw(t, "wh"),
			}
			meters[i] = rapid.SampledFrom([]string{"a", "b", "c"}).Draw(t, "meter")
		}
		run := func(order []int) []Bill {
			b, _ := NewBiller(DefaultTariff())
			for _, i := range order {
				if err := b.Add(meters[i], regs[i]); err != nil {
					t.Fatal(err)
				}
			}
			return b.Bills()
		}
		order := rand.New(rand.NewPCG(uint64(n), 1)).Perm(n)
		ident := make([]int, n)
		for i := range ident {
			ident[i] = i
		}
		first, second := run(ident), run(order)
		if !reflect.DeepEqual(first, second) {
			t.Fatalf("order changed bills:\n%+v\n%+v", first, second)
		}
		for _, bill := range first {
			var sum int64
			for _, wh := range bill.ByBand {
				sum += wh
			}
			if sum != bill.EnergyWh {
				t.Fatalf("%s: bands %d Wh, total %d Wh", bill.Meter, sum, bill.EnergyWh)
			}
		}
	})
}

func TestConcurrentAdd(t *testing.T) {
	b, _ := NewBiller(DefaultTariff())
	start := utc("2024-01-15T00:00:00Z")
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 48 {
				r := Register{Start: start.Add(time.Duration(i) * 30 * time.Minute), Interval: 30 * time.Minute, EnergyWh: 100}
				if err := b.Add(fmt.Sprintf("m%d", w%2), r); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	bills := b.Bills()
	if len(bills) != 2 || bills[0].Meter != "m0" || bills[0].Registers != 96 || bills[1].EnergyWh != 9600 {
		t.Fatalf("bills %+v", bills)
	}
	// One winter day of flat 200 Wh/30 min: night 7 h = 2800 Wh, peak 3 h = 1200 Wh,
	// default 14 h = 5600 Wh.
	want := map[string]int64{"night": 2800, "peak": 1200, "default": 5600}
	if !reflect.DeepEqual(bills[0].ByBand, want) {
		t.Fatalf("by band %v, want %v", bills[0].ByBand, want)
	}
}

func ExampleBiller() {
	b, err := NewBiller(DefaultTariff())
	if err != nil {
		panic(err)
	}
	start := time.Date(2024, 1, 15, 7, 15, 0, 0, time.UTC)
	_ = b.Add("meter-1", Register{Start: start, Interval: 30 * time.Minute, EnergyWh: 600})
	for _, bill := range b.Bills() {
		fmt.Println(bill.Meter, bill.ByBand["night"], bill.ByBand["default"], bill.Cost)
	}
	// Output: meter-1 300 300 0.73
}

func BenchmarkAdd(b *testing.B) {
	biller, _ := NewBiller(DefaultTariff())
	start := utc("2024-01-15T00:00:00Z")
	i := 0
	for b.Loop() {
		r := Register{Start: start.Add(time.Duration(i%17520) * 30 * time.Minute), Interval: 30 * time.Minute, EnergyWh: 250}
		if err := biller.Add("meter", r); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "registers/s")
}

func TestSchedule(t *testing.T) {
	tr := DefaultTariff()
	start := time.Date(2026, 1, 15, 15, 0, 0, 0, time.UTC)
	got := tr.Schedule(start, time.Hour, 3) // 15:00 default, 16:00 and 17:00 peak (GMT in January)
	for i, p := range got {
		if _, want := tr.PriceAt(start.Add(time.Duration(i) * time.Hour)); p != want {
			t.Fatalf("step %d: %v, want %v", i, p, want)
		}
	}
	if got[0] == got[1] {
		t.Fatalf("schedule does not follow the bands: %v", got)
	}
}

func BenchmarkSchedule(b *testing.B) {
	tr := DefaultTariff()
	start := time.Date(2026, 6, 8, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		tr.Schedule(start, time.Minute, 1440)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "days/s")
}

func BenchmarkPriceAt(b *testing.B) {
	tr := DefaultTariff()
	at := time.Date(2026, 6, 8, 17, 0, 0, 0, time.UTC)
	for b.Loop() {
		tr.PriceAt(at)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "prices/s")
}

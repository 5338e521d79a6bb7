package billing

import (
	"testing"
	"time"
)

// FuzzTariff feeds arbitrary band times and a zone through Validate, and for
// tariffs that validate checks that a register is split without losing Wh.
func FuzzTariff(f *testing.F) {
	f.Add("00:30", "07:30", "16:00", "19:00", "Europe/London", int64(1_700_000_000), int64(90), int64(1000))
	f.Add("23:00", "01:00", "00:30", "07:30", "", int64(0), int64(1440), int64(7))
	f.Add("00:00", "24:00", "24:00", "00:00", "America/New_York", int64(1_710_054_000), int64(30), int64(1<<50))
	f.Add("1:00", "02:0x", "+1:00", "-1:00", "Local", int64(-1), int64(0), int64(-5))
	f.Fuzz(func(t *testing.T, f1, t1, f2, t2, tz string, startUnix, minutes, wh int64) {
		tariff := Tariff{Name: "f", Currency: "EUR", Timezone: tz, DefaultPricePerKWh: 0.2,
			Bands: []Band{{Name: "a", From: f1, To: t1, PricePerKWh: 0.1}, {Name: "b", From: f2, To: t2, PricePerKWh: 0.3}}}
		b, err := NewBiller(tariff)
		if err != nil {
			if len(fieldErrors(err)) == 0 {
				t.Fatalf("error without a field: %v", err)
			}
			return
		}
		r := Register{Start: time.Unix(startUnix%(1<<40), 0), Interval: time.Duration(minutes) * time.Minute, EnergyWh: wh}
		if err := b.Add("m", r); err != nil {
			return
		}
		bill := b.Bills()[0]
		var sum int64
		for name, v := range bill.ByBand {
			if name != "a" && name != "b" && name != DefaultBand || v < 0 {
				t.Fatalf("band %q got %d Wh", name, v)
			}
			sum += v
		}
		if sum != wh {
			t.Fatalf("split %v sums to %d, want %d", bill.ByBand, sum, wh)
		}
		if band, _ := tariff.PriceAt(r.Start); band != "a" && band != "b" && band != DefaultBand {
			t.Fatalf("PriceAt band %q", band)
		}
	})
}

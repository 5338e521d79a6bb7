package metering

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func valid() Register {
	return Register{Meter: strings.Repeat("AB", 20), Start: time.Date(2013, 6, 8, 10, 30, 0, 0, time.UTC),
		Length: Interval, EnergyWh: 312, CumulativeWh: 10_000}
}

func TestRoundTrip(t *testing.T) {
	b, err := valid().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if got != valid() {
		t.Fatalf("got %+v", got)
	}
}

func TestRejects(t *testing.T) {
	cases := map[string]func(*Register){
		"short id":     func(r *Register) { r.Meter = "AB" },
		"lower hex":    func(r *Register) { r.Meter = strings.Repeat("ab", 20) },
		"misaligned":   func(r *Register) { r.Start = r.Start.Add(time.Minute) },
		"negative":     func(r *Register) { r.EnergyWh = -1 },
		"impossible":   func(r *Register) { r.EnergyWh = MaxEnergyWh + 1 },
		"wrong length": func(r *Register) { r.Length = time.Hour },
	}
	for name, mutate := range cases {
		r := valid()
		mutate(&r)
		if _, err := r.Marshal(); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Marshal err = %v", name, err)
		}
	}
	b, _ := valid().Marshal()
	for name, bad := range map[string][]byte{"trailing": append(append([]byte{}, b...), 0), "truncated": b[:len(b)-1], "empty": nil} {
		if _, err := Unmarshal(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Unmarshal err = %v", name, err)
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	b, _ := valid().Marshal()
	f.Add(b)
	f.Add([]byte{0xa0})
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Unmarshal(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		again, err := r.Marshal()
		if err != nil {
			t.Fatalf("decoded register does not re-encode: %v", err)
		}
		if r2, _ := Unmarshal(again); r2 != r {
			t.Fatalf("round trip changed %+v to %+v", r, r2)
		}
	})
}

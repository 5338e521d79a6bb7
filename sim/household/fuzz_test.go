package household

import (
	"bytes"
	"errors"
	"math"
	"os"
	"testing"
	"time"
)

// firstLines returns the first n lines of a testdata file, as fuzz seed.
func firstLines(t testing.TB, path string, n int) []byte {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for ; n > 0 && i < len(raw); i++ {
		if raw[i] == '\n' {
			n--
		}
	}
	return raw[:i]
}

// checkLoaded asserts the loader contract: a *ParseError, or a sound trace.
func checkLoaded(t *testing.T, tr *Trace, err error) {
	if err != nil {
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Line < 1 {
			t.Fatalf("error %v (%T) is not a located *ParseError", err, err)
		}
		if tr != nil {
			t.Fatal("trace returned with an error")
		}
		return
	}
	if tr.Len() < 2 || tr.Step < time.Second {
		t.Fatalf("trace of %d samples, step %v", tr.Len(), tr.Step)
	}
	for name, s := range tr.Appliances {
		if len(s) != tr.Len() {
			t.Fatalf("%s: %d samples, mains %d", name, len(s), tr.Len())
		}
		for _, v := range s {
			if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("%s: value %v", name, v)
			}
		}
	}
	for _, v := range tr.Mains {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("mains value %v", v)
		}
	}
}

func FuzzLoadUKDALE(f *testing.F) {
	f.Add(firstLines(f, "testdata/ukdale_house2_2013-06-08_2min_W.csv", 6))
	f.Add([]byte(ukRows("1000,0,90,150,90", "1120,2000,0,2100,2000")))
	f.Add([]byte(ukRows("1000,0,90,150,90", "1120,2000,0,2100")))
	f.Add([]byte(ukRows("1000,0,90,150,90", "1100,2000,0,2100,2000")))
	f.Add([]byte("unix_ts,mains\r\n0,100\r\n9223372036854775807,100\r\n"))
	f.Add([]byte("unix_ts,mains\n-5,100\n-4,1e308\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := LoadUKDALE(bytes.NewReader(data), "f.csv")
		checkLoaded(t, tr, err)
	})
}

func FuzzLoadUCI(f *testing.F) {
	f.Add(firstLines(f, "testdata/uci_household_power_consumption_excerpt_2006-12-16_1min.txt", 6))
	f.Add([]byte(uciRows(uciLine(24, "4.216"), uciLine(25, "?"))))
	f.Add([]byte(uciRows(uciLine(24, "4.216"), "29/2/2008;00:00:00;1;0;0;0;0;0;0")))
	f.Add([]byte(uciRows("1/1/0;0:0:0;0;0;0;0;0;0;0", "1/1/0;0:0:1;0;0;0;0;0;0;0")))
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := LoadUCI(bytes.NewReader(data), "f.txt")
		checkLoaded(t, tr, err)
	})
}

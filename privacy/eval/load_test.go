package eval

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/usapp/usapp/sim/household"
)

const (
	ukdaleFile = "../../sim/household/testdata/ukdale_house2_2013-06-08_2min_W.csv"
	uciFile    = "../../sim/household/testdata/uci_household_power_consumption_excerpt_2006-12-16_1min.txt"
)

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestLoadTraceDetectsFormat(t *testing.T) {
	for _, tc := range []struct {
		path   string
		step   time.Duration
		n      int
		detect string // an appliance only that format has
	}{
		{ukdaleFile, 2 * time.Minute, 720, "kettle_1"},
		{uciFile, time.Minute, 2203, ""},
	} {
		data := readFile(t, tc.path)
		for _, prefix := range []string{"", "\ufeff"} {
			tr, err := LoadTrace(bytes.NewReader(append([]byte(prefix), data...)), tc.path)
			if err != nil {
				t.Fatalf("%s (BOM %v): %v", tc.path, prefix != "", err)
			}
			if tr.Step != tc.step || tr.Len() != tc.n || tr.Name != tc.path {
				t.Errorf("%s: step %v, %d samples, name %q; want %v, %d, the path", tc.path, tr.Step, tr.Len(), tr.Name, tc.step, tc.n)
			}
			if _, ok := tr.Appliances[tc.detect]; tc.detect != "" && !ok {
				t.Errorf("%s: no %s channel; read with the wrong loader?", tc.path, tc.detect)
			}
		}
	}
}

func TestLoadTraceErrorsNameFileAndLine(t *testing.T) {
	uk := string(readFile(t, ukdaleFile))
	lines := strings.SplitAfter(uk, "\n")
	truncated := strings.Join(lines[:40], "") + lines[40][:len(lines[40])/2] // cut inside line 41
	badValue := strings.Join(lines[:9], "") + strings.Replace(lines[9], ",", ",x", 3) + strings.Join(lines[10:], "")
	for _, tc := range []struct {
		name, data string
		line       int
		want       error
	}{
		{"unknown format", "time,power\n1,2\n", 1, ErrFormat},
		{"empty", "", 1, ErrFormat},
		{"truncated", truncated, 41, household.ErrMalformed},
		{"bad value", badValue, 10, nil},
		{"uci header only", "Date;Time;Global_active_power\n", 0, nil},
	} {
		_, err := LoadTrace(strings.NewReader(tc.data), "home.csv")
		var pe *household.ParseError
		if !errors.As(err, &pe) || pe.File != "home.csv" {
			t.Errorf("%s: err %v, want a ParseError naming home.csv", tc.name, err)
			continue
		}
		if tc.line != 0 && pe.Line != tc.line {
			t.Errorf("%s: line %d, want %d", tc.name, pe.Line, tc.line)
		}
		if tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestBuiltin(t *testing.T) {
	a, ok, err := Builtin(SourceSynthetic, 5)
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	if a.Len() != 1440 || a.Step != time.Minute || !a.Start.Equal(SyntheticStart) {
		t.Fatalf("synthetic: %d samples of %v from %v", a.Len(), a.Step, a.Start)
	}
	b, _, _ := Builtin(SourceSynthetic, 5)
	c, _, _ := Builtin(SourceSynthetic, 6)
	if !slicesEqual(a.Mains, b.Mains) || slicesEqual(a.Mains, c.Mains) {
		t.Fatal("synthetic days must depend on the seed and only on it")
	}
	u, ok, err := Builtin(SourceUKDALE, 0)
	if !ok || err != nil || u.Len() != 720 {
		t.Fatalf("ukdale: ok %v err %v", ok, err)
	}
	if _, ok, _ := Builtin("home.csv", 0); ok {
		t.Fatal("a file name must not be taken for a built-in source")
	}
}

func slicesEqual(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzLoadTrace: any input gives a usable trace or a ParseError, never a
// panic or a half-read trace.
func FuzzLoadTrace(f *testing.F) {
	uk := readFile(f, ukdaleFile)
	uci := readFile(f, uciFile)
	f.Add(uk[:2000])
	f.Add(uci[:2000])
	f.Add([]byte("unix_ts,mains\n0,100\n60,200\n"))
	f.Add([]byte("\ufeffDate;Time;Global_active_power\n"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := LoadTrace(bytes.NewReader(data), "fuzz")
		if err != nil {
			var pe *household.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a ParseError", err)
			}
			return
		}
		if tr.Len() < 2 || tr.Step <= 0 {
			t.Fatalf("accepted a trace of %d samples, step %v", tr.Len(), tr.Step)
		}
		for name, s := range tr.Appliances {
			if len(s) != tr.Len() {
				t.Fatalf("appliance %s has %d samples, mains %d", name, len(s), tr.Len())
			}
		}
	})
}

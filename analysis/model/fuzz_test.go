package model

import (
	"errors"
	"os"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the loader: it must never panic, and
// every failure must be an *Error or *Errors naming the input with a sane
// line; every success must be a model whose lookups and hash work.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"../../examples/ev-charging.yaml", "../../examples/home-metering.yaml", "../../examples/common/utility.yaml"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(base))
	f.Add([]byte(base + "controls:\n  - {id: A1.enrolment, at: a, params: {k: 1}}\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("model: {name: t}\n---\nmodel: {name: u}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data, "fuzz.yaml")
		if err != nil {
			var one *Error
			var many *Errors
			switch {
			case errors.As(err, &many):
				if len(*many) < 2 {
					t.Fatalf("*Errors with %d entries", len(*many))
				}
				for _, e := range *many {
					checkErr(t, e)
				}
			case errors.As(err, &one):
				checkErr(t, one)
			default:
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if len(m.Hash()) != 64 {
			t.Fatal("bad hash")
		}
		for _, fl := range m.Flows {
			if m.Flow(fl.ID) == nil || m.Component(fl.From) == nil || m.Component(fl.To) == nil {
				t.Fatalf("accepted model with unresolved flow %q", fl.ID)
			}
		}
	})
}

func checkErr(t *testing.T, e *Error) {
	t.Helper()
	if e.File != "fuzz.yaml" || e.Line < 0 || e.Msg == "" || e.Err == nil {
		t.Fatalf("malformed error %#v", e)
	}
}

// BenchmarkLoadEV measures loading the EV case study with its include, the
// first step of every `usapp analyze` run.
func BenchmarkLoadEV(b *testing.B) {
	var flows int
	for b.Loop() {
		m, err := Load("../../examples/ev-charging.yaml")
		if err != nil {
			b.Fatal(err)
		}
		flows = len(m.Flows)
	}
	b.ReportMetric(float64(flows*b.N)/b.Elapsed().Seconds(), "flows/s")
}

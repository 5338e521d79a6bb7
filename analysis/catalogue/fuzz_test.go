package catalogue

import (
	"errors"
	"testing"
)

// FuzzLoad feeds arbitrary bytes as a user file. Loading must never panic,
// and must either succeed with a consistent catalogue or report problems
// that all point into the user's file (the embedded data is known good).
func FuzzLoad(f *testing.F) {
	files, err := embeddedFiles()
	if err != nil {
		f.Fatal(err)
	}
	for _, x := range files {
		f.Add(x.Data)
	}
	f.Add([]byte(control))
	f.Add([]byte(control + "    colour: red\n"))
	f.Add([]byte("controls:\n  - &c {id: A1.x}\n  - *c\n"))
	f.Add([]byte("threats:\n  - {id: X.y, name: n, kind: failure, requirements: [integrity], description: d, references: [SG.ZZ]}\n"))
	f.Add([]byte("controls: [[[[]]]]\nthreats: {a: b}\n---\nx\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := LoadFiles(File{Name: "fuzz.yaml", Data: data})
		if err != nil {
			var one *Error
			var many *Errors
			switch {
			case errors.As(err, &many):
				for _, e := range *many {
					checkFuzzError(t, e)
				}
			case errors.As(err, &one):
				checkFuzzError(t, one)
			default:
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		for _, th := range c.Threats() {
			for _, x := range c.ControlsFor(th.ID) {
				if _, ok := c.Control(x.ID); !ok {
					t.Fatalf("ControlsFor(%s) returned unknown %s", th.ID, x.ID)
				}
			}
		}
		for _, x := range c.Controls() {
			if x.Cost < 1 || x.Cost > 10 || x.ID.Validate() != nil || x.ID.Subclass() != x.Subclass {
				t.Fatalf("invalid control accepted: %+v", x)
			}
			for _, m := range x.Mitigates {
				if _, ok := c.Threat(m); !ok {
					t.Fatalf("%s mitigates unknown %s", x.ID, m)
				}
			}
		}
	})
}

func checkFuzzError(t *testing.T, e *Error) {
	t.Helper()
	if e.File != "fuzz.yaml" || e.Err == nil || e.Msg == "" || e.Line < 0 {
		t.Fatalf("malformed problem %+v", e)
	}
}

package gateway

import (
	"math"
	"testing"

	"github.com/usapp/usapp/billing"
	"github.com/usapp/usapp/control/energy"
	"github.com/usapp/usapp/sim/household"
)

func TestHEMSMeteredIsTheHiddenLoad(t *testing.T) {
	tr, err := household.UKDALE()
	if err != nil {
		t.Fatal(err)
	}
	alg, err := energy.Lookup("usapp")
	if err != nil {
		t.Fatal(err)
	}
	h := HEMS{Algorithm: alg, Battery: energy.DefaultBattery(), Tariff: billing.DefaultTariff(), Seed: 1}
	m, res, err := h.Metered(tr)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Mains) != len(tr.Mains) || !m.Start.Equal(tr.Start) || m.Step != tr.Step {
		t.Fatalf("metered trace has another shape: %d samples from %v every %v", len(m.Mains), m.Start, m.Step)
	}
	changed := 0
	for i := range tr.Mains {
		// The balance the physics must keep: p = p_i + pB + pL.
		if d := tr.Mains[i] - (m.Mains[i] + res.Battery[i] + res.Loss[i]); math.Abs(d) > 1e-6 {
			t.Fatalf("step %d: balance off by %g W", i, d)
		}
		if m.Mains[i] != tr.Mains[i] {
			changed++
		}
	}
	if changed < len(tr.Mains)/2 {
		t.Fatalf("the meter sees the demand at %d of %d steps", len(tr.Mains)-changed, len(tr.Mains))
	}
	if c, ok := h.Control(); !ok || c.Params["algorithm"] != "usapp" {
		t.Fatalf("control %+v", c)
	}
	if same, _, _ := (HEMS{}).Metered(tr); same != tr {
		t.Fatal("a HEMS without an algorithm changed the demand")
	}
}

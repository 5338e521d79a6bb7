package gateway

import (
	"fmt"

	"github.com/usapp/usapp/billing"
	"github.com/usapp/usapp/control/energy"
	"github.com/usapp/usapp/framework"
	"github.com/usapp/usapp/sim/household"
)

// HEMS is the gateway's home energy manager (C3.load-hiding): it drives the
// home battery with the configured hiding algorithm, planning with the
// tariff's day-ahead prices, so that what the meter measures at the grid
// connection — and therefore every reading that leaves the home — is the
// hidden load, not the appliances' signatures.
//
// In simulation the physics is a transformation of the demand trace: Metered
// returns the trace the meter sees.
type HEMS struct {
	Algorithm energy.Algorithm // nil: no battery, the meter sees the demand
	Battery   energy.Battery
	Tariff    billing.Tariff
	Seed      int64 // seeds randomised algorithms
}

// Metered returns what the meter measures for the home's demand tr, and the
// battery's run. The state of charge is returned to its start by the end of
// the trace, so that privacy is not paid for with a flat battery.
func (h HEMS) Metered(tr *household.Trace) (*household.Trace, *energy.Result, error) {
	if h.Algorithm == nil {
		return tr, nil, nil
	}
	run := energy.Run{Demand: tr.Mains, Step: tr.Step, ReturnSoC: true, Seed: h.Seed,
		Prices: h.Tariff.Schedule(tr.Start, tr.Step, len(tr.Mains))}
	res, err := h.Algorithm.Hide(h.Battery, run)
	if err != nil {
		return nil, nil, fmt.Errorf("gateway: hems %s: %w", h.Algorithm.Name(), err)
	}
	return &household.Trace{Name: tr.Name + " (metered, " + h.Algorithm.Name() + ")", Start: tr.Start, Step: tr.Step,
		Mains: res.Metered}, res, nil
}

// Control reports the HEMS for GET /controls, or false when it runs no
// hiding algorithm.
func (h HEMS) Control() (framework.Active, bool) {
	if h.Algorithm == nil {
		return framework.Active{}, false
	}
	return framework.Active{ID: framework.LoadHiding, Params: map[string]string{
		"algorithm":   h.Algorithm.Name(),
		"battery_kwh": fmt.Sprint(h.Battery.CapacityKWh),
		"battery_kw":  fmt.Sprint(h.Battery.MaxDischargeKW),
	}}, true
}

package energy_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/usapp/usapp/control/energy"
)

func flatRun(n int, w float64) energy.Run {
	d := make([]float64, n)
	for i := range d {
		d[i] = w
	}
	return energy.Run{Demand: d, Step: time.Minute}
}

func TestArbiterEmergencyBeatsPrivacy(t *testing.T) {
	b := energy.DefaultBattery()
	r := flatRun(60, 1000)
	r.Demand[30] = 2500 // privacy will hold a level; the emergency caps import
	plan := energy.Plan{Emergencies: []energy.ImportCap{{From: 10, To: 20, MaxMeteredW: 200}}}
	res, log, err := energy.Arbiter{}.Run(b, r, energy.BestEffort{}, plan)
	if err != nil {
		t.Fatal(err)
	}
	checkPhysics(t, b, r, res)
	for i := 10; i < 20; i++ {
		if res.Metered[i] > 200+1e-6 {
			t.Errorf("step %d: metered %.0f W above the emergency cap", i, res.Metered[i])
		}
	}
	if len(log) != 1 || log[0].Winner != energy.SourceEmergency || log[0].Loser != energy.SourcePrivacy ||
		log[0].Step != 10 || log[0].Steps != 10 {
		t.Errorf("log = %+v", log)
	}
}

func TestArbiterPrioritiesConfigurable(t *testing.T) {
	b := energy.DefaultBattery()
	r := flatRun(30, 1000)
	plan := energy.Plan{DemandResponse: []energy.ImportCap{{From: 0, To: 30, MaxMeteredW: 300}}}
	// Default: demand response beats privacy and the cap holds.
	res, log, err := energy.Arbiter{}.Run(b, r, energy.BestEffort{}, plan)
	if err != nil {
		t.Fatal(err)
	}
	if res.Metered[5] > 300+1e-6 || len(log) == 0 || log[0].Winner != energy.SourceDemandResponse {
		t.Errorf("default: metered %.0f, log %+v", res.Metered[5], log)
	}
	// Privacy first: the request loses and is logged as lost.
	prio := []energy.Source{energy.SourceEmergency, energy.SourceOverride, energy.SourcePrivacy, energy.SourceDemandResponse, energy.SourceCost}
	res, log, err = energy.Arbiter{Priorities: prio}.Run(b, r, energy.BestEffort{}, plan)
	if err != nil {
		t.Fatal(err)
	}
	if res.Metered[5] != 1000 || len(log) == 0 || log[0].Winner != energy.SourcePrivacy || log[0].Loser != energy.SourceDemandResponse {
		t.Errorf("privacy first: metered %.0f, log %+v", res.Metered[5], log)
	}
}

func TestArbiterOverrides(t *testing.T) {
	b := energy.DefaultBattery()
	r := flatRun(120, 400)
	plan := energy.Plan{Overrides: []energy.Override{
		{Kind: energy.BatteryOff, From: 0, To: 20},
		{Kind: energy.ChargeBy, From: 20, To: 80, TargetSoC: 0.85},
	}}
	res, log, err := energy.Arbiter{}.Run(b, r, energy.USaPP{}, plan)
	if err != nil {
		t.Fatal(err)
	}
	checkPhysics(t, b, r, res)
	for i := 0; i < 20; i++ {
		if res.Battery[i] != 0 {
			t.Fatalf("step %d: battery %g W while switched off", i, res.Battery[i])
		}
	}
	if got := res.SoC[79]; got < 0.85*b.CapacityKWh-1e-9 {
		t.Errorf("SoC at the deadline %.3f kWh, want >= %.3f", got, 0.85*b.CapacityKWh)
	}
	found := false
	for _, d := range log {
		if d.Winner == energy.SourceOverride && d.Loser == energy.SourcePrivacy && d.Reason != "" {
			found = true
		}
	}
	if !found {
		t.Errorf("no override-over-privacy decision in %+v", log)
	}
}

func TestArbiterCostYieldsToPrivacy(t *testing.T) {
	b := energy.DefaultBattery()
	r := flatRun(40, 500)
	r.Prices = make([]float64, 40)
	for i := range r.Prices {
		r.Prices[i] = 0.1
		if i >= 20 {
			r.Prices[i] = 0.4
		}
	}
	// Without privacy the cost wish alone decides: idle is allowed in both
	// bands, so the battery stays idle and nothing conflicts.
	res, log, err := energy.Arbiter{}.Run(b, r, nil, energy.Plan{})
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 0 || res.Battery[0] != 0 {
		t.Errorf("no privacy: log %+v, pB %g", log, res.Battery[0])
	}
	// Privacy that charges in the dear band beats cost, and says so.
	_, log, err = energy.Arbiter{}.Run(b, r, constLevel(900), energy.Plan{})
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 1 || log[0].Winner != energy.SourcePrivacy || log[0].Loser != energy.SourceCost || log[0].Step != 20 {
		t.Errorf("log = %+v", log)
	}
}

// constLevel is a trivial hider holding the meter at one level, to test the
// arbiter in isolation.
type constLevel float64

func (constLevel) Name() string { return "const" }
func (c constLevel) Hide(b energy.Battery, r energy.Run) (*energy.Result, error) {
	res := &energy.Result{Metered: make([]float64, len(r.Demand))}
	for i := range res.Metered {
		res.Metered[i] = float64(c)
	}
	return res, nil
}

func TestArbiterRejectsBadInput(t *testing.T) {
	b := energy.DefaultBattery()
	r := flatRun(10, 100)
	_, _, err := energy.Arbiter{Priorities: []energy.Source{energy.SourcePrivacy}}.Run(b, r, nil, energy.Plan{})
	if !errors.Is(err, energy.ErrPriorities) {
		t.Errorf("short priorities: %v", err)
	}
	bad := []energy.Source{energy.SourceEmergency, energy.SourceOverride, energy.SourceDemandResponse, energy.SourcePrivacy, energy.SourceBattery}
	if _, _, err := (energy.Arbiter{Priorities: bad}).Run(b, r, nil, energy.Plan{}); !errors.Is(err, energy.ErrPriorities) {
		t.Errorf("battery-limits ranked: %v", err)
	}
	plans := map[string]energy.Plan{
		"DemandResponse[0]":          {DemandResponse: []energy.ImportCap{{From: 5, To: 5}}},
		"Emergencies[0]":             {Emergencies: []energy.ImportCap{{From: 0, To: 11}}},
		"Emergencies[0].MaxMeteredW": {Emergencies: []energy.ImportCap{{From: 0, To: 1, MaxMeteredW: math.NaN()}}},
		"Overrides[0].TargetSoC":     {Overrides: []energy.Override{{Kind: energy.ChargeBy, From: 0, To: 5, TargetSoC: 0.95}}},
		"Overrides[0].Kind":          {Overrides: []energy.Override{{From: 0, To: 5}}},
	}
	for field, plan := range plans {
		_, _, err := energy.Arbiter{}.Run(b, r, nil, plan)
		var fe *energy.FieldError
		if !errors.Is(err, energy.ErrPlan) || !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("%s: %v", field, err)
		}
	}
}

// Two conflicts settled at every step of a window are two decisions, not
// one per step: each recurrence extends its own decision even though the
// other conflict was recorded in between.
func TestArbiterMergesInterleavedConflicts(t *testing.T) {
	b := energy.DefaultBattery()
	r := flatRun(40, 1000)
	r.Demand[0] = 200 // best-effort then holds 200 W: privacy wants the battery to serve 800 W
	plan := energy.Plan{
		DemandResponse: []energy.ImportCap{{From: 10, To: 20, MaxMeteredW: 300}},
		Overrides:      []energy.Override{{Kind: energy.BatteryOff, From: 10, To: 20}},
	}
	_, log, err := energy.Arbiter{}.Run(b, r, energy.BestEffort{}, plan)
	if err != nil {
		t.Fatal(err)
	}
	byLoser := map[energy.Source]energy.Decision{}
	for _, d := range log {
		if d.Winner != energy.SourceOverride {
			continue
		}
		if _, dup := byLoser[d.Loser]; dup {
			t.Fatalf("%s lost to the override in more than one decision: %+v", d.Loser, log)
		}
		byLoser[d.Loser] = d
	}
	for _, loser := range []energy.Source{energy.SourceDemandResponse, energy.SourcePrivacy} {
		if d, ok := byLoser[loser]; !ok || d.Step != 10 || d.Steps != 10 {
			t.Errorf("%s vs the override: %+v, want one decision over steps 10-19; log %+v", loser, d, log)
		}
	}
}

// With nothing but privacy in play the arbiter must reproduce the hiding
// algorithm exactly: the platform's HEMS runs through the arbiter, the
// evaluation calls Hide, and both must report the same trace.
func TestArbiterWithoutRivalsIsTheAlgorithm(t *testing.T) {
	b := energy.DefaultBattery()
	r := ukdaleRun(t, false)
	r.ReturnSoC = true
	for _, a := range energy.Algorithms() {
		want, err := a.Hide(b, r)
		if err != nil {
			t.Fatal(err)
		}
		got, log, err := energy.Arbiter{}.Run(b, r, a, energy.Plan{})
		if err != nil {
			t.Fatal(err)
		}
		if len(log) != 0 {
			t.Errorf("%s: %d decisions with no rival: %+v", a.Name(), len(log), log[0])
		}
		for i := range want.Metered {
			if math.Abs(got.Metered[i]-want.Metered[i]) > 1e-6 {
				t.Errorf("%s: step %d metered %.3f W through the arbiter, %.3f W from Hide", a.Name(), i, got.Metered[i], want.Metered[i])
				break
			}
		}
	}
}

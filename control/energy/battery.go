package energy

import (
	"errors"
	"fmt"
	"math"
)

// Sentinel errors. Validation problems are *FieldError values wrapping one of
// these, joined with errors.Join, so that every impossible parameter is named.
var (
	ErrBattery          = errors.New("energy: impossible battery parameter")
	ErrRun              = errors.New("energy: invalid run")
	ErrUnknownAlgorithm = errors.New("energy: unknown hiding algorithm")
	ErrPriorities       = errors.New("energy: priorities must list every source exactly once")
	ErrPlan             = errors.New("energy: invalid arbitration plan")
)

// FieldError names the field at fault ("MaxSoC", "Demand[12]").
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return "energy: " + e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// Battery is a home battery behind the meter. Power limits are on the cell
// side (pB); the state-of-charge fields are fractions of CapacityKWh.
type Battery struct {
	CapacityKWh         float64 // usable cell energy at SoC 1
	MaxChargeKW         float64 // largest charging power into the cells
	MaxDischargeKW      float64 // largest discharging power out of the cells
	RoundTripEfficiency float64 // η in (0, 1]; each direction loses 1-√η
	MinSoC              float64 // lowest allowed state of charge, fraction
	MaxSoC              float64 // highest allowed state of charge, fraction
	InitialSoC          float64 // state of charge at the start of a run, fraction
}

// DefaultBattery is a 2 kWh / 3 kW battery with 90 % round-trip efficiency,
// kept between 10 % and 90 % and starting half full.
func DefaultBattery() Battery {
	return Battery{
		CapacityKWh:         2,
		MaxChargeKW:         3,
		MaxDischargeKW:      3,
		RoundTripEfficiency: 0.9,
		MinSoC:              0.1,
		MaxSoC:              0.9,
		InitialSoC:          0.5,
	}
}

var (
	errNotPositive = errors.New("must be finite and positive")
	errNegative    = errors.New("must be finite and not negative")
	errEfficiency  = errors.New("must be in (0, 1]")
	errFraction    = errors.New("must be a fraction in [0, 1]")
	errSoCOrder    = errors.New("must be below MaxSoC")
	errSoCRange    = errors.New("must lie in [MinSoC, MaxSoC]")
	errLength      = errors.New("length must match Demand")
	errEmpty       = errors.New("must not be empty")
)

// Validate reports every impossible parameter as a *FieldError wrapping
// ErrBattery, joined with errors.Join; nil if the battery can be simulated.
// A battery that can neither charge nor discharge is allowed (it hides
// nothing), so power limits may be zero; capacity may not.
func (b Battery) Validate() error {
	var errs []error
	bad := func(field string, err error) {
		errs = append(errs, &FieldError{Field: field, Err: fmt.Errorf("%w: %w", ErrBattery, err)})
	}
	if !finite(b.CapacityKWh) || b.CapacityKWh <= 0 {
		bad("CapacityKWh", errNotPositive)
	}
	if !finite(b.MaxChargeKW) || b.MaxChargeKW < 0 {
		bad("MaxChargeKW", errNegative)
	}
	if !finite(b.MaxDischargeKW) || b.MaxDischargeKW < 0 {
		bad("MaxDischargeKW", errNegative)
	}
	if !finite(b.RoundTripEfficiency) || b.RoundTripEfficiency <= 0 || b.RoundTripEfficiency > 1 {
		bad("RoundTripEfficiency", errEfficiency)
	}
	fracOK := true
	for _, f := range []struct {
		name string
		v    float64
	}{{"MinSoC", b.MinSoC}, {"MaxSoC", b.MaxSoC}, {"InitialSoC", b.InitialSoC}} {
		if !finite(f.v) || f.v < 0 || f.v > 1 {
			bad(f.name, errFraction)
			fracOK = false
		}
	}
	if fracOK && b.MinSoC >= b.MaxSoC {
		bad("MinSoC", errSoCOrder)
	} else if fracOK && (b.InitialSoC < b.MinSoC || b.InitialSoC > b.MaxSoC) {
		bad("InitialSoC", errSoCRange)
	}
	return errors.Join(errs...)
}

// oneWay is the efficiency of a single conversion, √η.
func (b Battery) oneWay() float64 { return OneWayEfficiency(b.RoundTripEfficiency) }

// OneWayEfficiency is the efficiency of one conversion of a battery with
// round-trip efficiency roundTrip: the model splits the losses evenly, so a
// charge of c from the grid stores √η·c and taking d out of store delivers
// √η·d.
func OneWayEfficiency(roundTrip float64) float64 { return math.Sqrt(roundTrip) }

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

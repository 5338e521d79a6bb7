// Package eval implements the measurement side of C3.load-hiding: it runs
// load-hiding algorithms on a household trace, attacks what the meter would
// report with real NILM attackers, and scores the result against the
// per-appliance ground truth. Privacy is a number measured here, never a
// claim made by an algorithm.
//
// # What one evaluation does
//
// [Evaluate] runs every algorithm once on the trace's demand (Trace.Mains),
// plus the reference "none" (no battery: metered = demand, battery and loss
// zero, state of charge constant), then runs every attacker on each metered
// series. Each (algorithm, attacker) pair becomes one [Row]:
//
//   - precision, recall, F1: the attacker's signed events scored against
//     metrics.TrueEvents(trace.Appliances, threshold) with a tolerance of one
//     sample (the "within one sample");
//   - mi_bits: I(demand; metered) in bits with the binning of
//     metrics.MutualInformation (Options.MIBins bins per series);
//   - correlation: Pearson's ρ of demand and metered; a constant metered series
//     carries no linear information, so ρ is reported as 0 there rather than
//     the undefined NaN (which JSON cannot carry either);
//   - extra_energy_pct: energy metered beyond the demand (the battery losses
//     and any state-of-charge gain), in percent of the demand;
//   - soc_drift_kwh: final state of charge minus the initial one;
//   - peak_kw: peak of the metered power;
//   - cost: the metered energy priced step by step with Tariff.PriceAt at the
//     start of each step (no standing charge).
//
// Algorithm-level numbers (mi_bits to cost) repeat on every attacker row of
// that algorithm so that each row stands alone in the JSON output.
//
// # Reproducibility
//
// Options.Seed is passed to every algorithm (energy.Run.Seed); the attackers
// and metrics are deterministic. The same trace, battery and options give the
// same rows, bit for bit, whatever GOMAXPROCS is: the algorithms run in
// parallel but each writes only its own slot and rows keep the input order.
//
// # Concurrency
//
// Evaluate and [Sweep] may be called concurrently; they read the trace and
// never modify it. Evaluate runs the algorithms' Hide from several
// goroutines at once, so algorithms (and, for concurrent calls, attackers)
// must be safe for concurrent use; those of packages energy and nilm are
// immutable values.
//
// This package does no disk or network I/O: [LoadTrace] reads from an
// io.Reader the caller opened.
package eval

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"time"

	"github.com/usapp/usapp/billing"
	"github.com/usapp/usapp/control/energy"
	"github.com/usapp/usapp/privacy/metrics"
	"github.com/usapp/usapp/privacy/nilm"
	"github.com/usapp/usapp/sim/household"
)

// None is the algorithm name of the reference row: no battery at all.
const None = "none"

// Defaults for zero [Options] fields.
const (
	// DefaultEventThresholdW is the smallest per-appliance power step that
	// counts as a true event: the attackers' own noise floor, so that no
	// attacker is asked for steps it was built to ignore.
	DefaultEventThresholdW = nilm.DefaultNoiseFloor
	// DefaultMIBins is the number of equal-width bins per series for the
	// mutual information estimate. With 32 bins the unhidden UK-DALE day
	// has I(p; p) = H(p) = 1.40 bits, while the plug-in bias measured on a
	// shuffled copy (independent by construction) is 0.07 bits: fine enough
	// to see structure, coarse enough for one day of samples.
	DefaultMIBins = 32
	// EventTolerance is the matching window for events, in samples.
	EventTolerance = 1
)

// Sentinel errors.
var (
	ErrTrace   = errors.New("eval: unusable trace")
	ErrOptions = errors.New("eval: invalid options")
	ErrResult  = errors.New("eval: algorithm returned an inconsistent result")
	// ErrTooLong is the ErrOptions of the two analyses with a length bound,
	// Reference and MIFloor, so that a caller can tell "cut the trace" from
	// other bad options.
	ErrTooLong = fmt.Errorf("%w: trace too long", ErrOptions)
)

// Row is one (algorithm, attacker) measurement. The JSON keys are a public
// contract (issue 3); change them only with a CHANGELOG note.
type Row struct {
	Algorithm      string  `json:"algorithm"`
	Attacker       string  `json:"attacker"`
	BatteryKWh     float64 `json:"battery_kwh"`
	BatteryKW      float64 `json:"battery_kw"`
	Precision      float64 `json:"precision"`
	Recall         float64 `json:"recall"`
	F1             float64 `json:"f1"`
	MIBits         float64 `json:"mi_bits"`
	Correlation    float64 `json:"correlation"`
	ExtraEnergyPct float64 `json:"extra_energy_pct"`
	SoCDriftKWh    float64 `json:"soc_drift_kwh"`
	LossesKWh      float64 `json:"losses_kwh"` // energy the battery's conversions lost
	PeakKW         float64 `json:"peak_kw"`
	Cost           float64 `json:"cost"`
	// MIFloorBits is [FloorOf] the row's run, set by [AddFloors] only.
	MIFloorBits *float64 `json:"mi_floor_bits,omitempty"`
}

// Options tunes an evaluation. The zero value is the documented default.
type Options struct {
	// EventThresholdW is the per-appliance step (W) above which a change is
	// a true event; 0 means DefaultEventThresholdW.
	EventThresholdW float64
	// MIBins is the number of bins per series for mutual information; 0
	// means DefaultMIBins.
	MIBins int
	// Tariff prices the metered energy and is given to the algorithms as the
	// day-ahead price schedule; nil means billing.DefaultTariff().
	Tariff *billing.Tariff
	// AllowSoCDrift lets the algorithms end the day at any state of charge.
	// The default (false) sets energy.Run.ReturnSoC, so that privacy is not
	// bought with a flat battery.
	AllowSoCDrift bool
	// Seed seeds the randomised algorithms.
	Seed int64
	// Planned gives the algorithms energy.Run.Planned: the runs of the
	// home's deferrable appliances, as energy.PlannedLoads reads them from
	// the trace's ground truth, as if the HEMS had scheduled each of them. Only
	// USaPP uses them; the baselines were designed without such knowledge.
	Planned bool
	// Reserve is energy.Run.Reserve for the trace, one entry per sample
	// (HistoryReserve gives it for a synthetic home). Only USaPP uses it.
	Reserve []float64
}

func (o Options) withDefaults() (Options, error) {
	if o.EventThresholdW == 0 {
		o.EventThresholdW = DefaultEventThresholdW
	}
	if o.MIBins == 0 {
		o.MIBins = DefaultMIBins
	}
	if o.Tariff == nil {
		t := billing.DefaultTariff()
		o.Tariff = &t
	}
	switch {
	case !(o.EventThresholdW > 0) || math.IsInf(o.EventThresholdW, 0):
		return o, fmt.Errorf("%w: event threshold must be a positive number of watts", ErrOptions)
	case o.MIBins < 2:
		return o, fmt.Errorf("%w: at least two mutual-information bins", ErrOptions)
	}
	if err := o.Tariff.Validate(); err != nil {
		return o, fmt.Errorf("%w: tariff: %w", ErrOptions, err)
	}
	return o, nil
}

// Hidden is one algorithm's run on the trace: what the meter reported and
// what the battery did.
type Hidden struct {
	Algorithm string
	energy.Result
}

// Report is the full outcome of one evaluation: the rows and, for plotting,
// every algorithm's run in row order ("none" first).
type Report struct {
	Rows []Row
	Runs []Hidden
}

// Evaluate runs "none" and every algorithm on tr's demand with battery b,
// attacks each metered series with every attacker and returns one row per
// (algorithm, attacker): "none" first, then algos and attackers in the
// order given.
func Evaluate(tr *household.Trace, b energy.Battery, algos []energy.Algorithm, attackers []nilm.Attacker, opts Options) ([]Row, error) {
	rep, err := EvaluateReport(tr, b, algos, attackers, opts)
	if err != nil {
		return nil, err
	}
	return rep.Rows, nil
}

// EvaluateReport is [Evaluate] keeping every algorithm's run.
func EvaluateReport(tr *household.Trace, b energy.Battery, algos []energy.Algorithm, attackers []nilm.Attacker, opts Options) (*Report, error) {
	if err := checkTrace(tr); err != nil {
		return nil, err
	}
	if err := b.Validate(); err != nil {
		return nil, err
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	run := energy.Run{
		Demand:    tr.Mains,
		Step:      tr.Step,
		Prices:    opts.Tariff.Schedule(tr.Start, tr.Step, len(tr.Mains)),
		ReturnSoC: !opts.AllowSoCDrift,
		Seed:      opts.Seed,
	}
	if opts.Planned {
		run.Planned = energy.PlannedLoads(tr.Appliances, tr.Step)
	}
	run.Reserve = opts.Reserve
	runs, err := hideAll(b, run, algos)
	if err != nil {
		return nil, err
	}
	truth := metrics.TrueEvents(tr.Appliances, opts.EventThresholdW)
	rep := &Report{Runs: runs, Rows: make([]Row, 0, len(runs)*len(attackers))}
	for _, h := range runs {
		base := algorithmRow(h, b, run, opts)
		for _, a := range attackers {
			r := base
			r.Attacker = a.Name()
			s := score(truth, h.Metered, tr.Step, a)
			r.Precision, r.Recall, r.F1 = s.Precision, s.Recall, s.F1
			rep.Rows = append(rep.Rows, r)
		}
	}
	return rep, nil
}

func score(truth []nilm.Event, metered []float64, step time.Duration, a nilm.Attacker) metrics.EventScore {
	return metrics.ScoreEvents(truth, a.Detect(metered, step), EventTolerance)
}

// Exposure is what attackers learn from one metered series: each attacker's
// event score against the home's ground truth, and I(demand; metered).
type Exposure struct {
	Scores map[string]metrics.EventScore
	MIBits float64
}

// Attack scores a series a meter actually measured for the home whose demand
// and per-appliance ground truth are tr, as Evaluate scores each algorithm:
// what the platform reports about the readings that left a home.
func Attack(tr *household.Trace, metered []float64, attackers []nilm.Attacker, opts Options) (Exposure, error) {
	if err := checkTrace(tr); err != nil {
		return Exposure{}, err
	}
	if len(metered) != len(tr.Mains) {
		return Exposure{}, fmt.Errorf("%w: %d metered samples for %d of demand", ErrTrace, len(metered), len(tr.Mains))
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return Exposure{}, err
	}
	truth := metrics.TrueEvents(tr.Appliances, opts.EventThresholdW)
	e := Exposure{Scores: map[string]metrics.EventScore{}, MIBits: metrics.MutualInformation(tr.Mains, metered, opts.MIBins)}
	for _, a := range attackers {
		e.Scores[a.Name()] = score(truth, metered, tr.Step, a)
	}
	return e, nil
}

func checkTrace(tr *household.Trace) error {
	switch {
	case tr == nil || len(tr.Mains) < 2:
		return fmt.Errorf("%w: fewer than two samples", ErrTrace)
	case tr.Step <= 0:
		return fmt.Errorf("%w: step must be positive", ErrTrace)
	}
	var energy float64
	for _, p := range tr.Mains {
		energy += p
	}
	if !(energy > 0) { // extra energy is a share of the demand's energy
		return fmt.Errorf("%w: the demand has no energy", ErrTrace)
	}
	for name, s := range tr.Appliances {
		if len(s) != len(tr.Mains) {
			return fmt.Errorf("%w: appliance %q has %d samples, mains %d", ErrTrace, name, len(s), len(tr.Mains))
		}
	}
	return nil
}

// hideAll runs the reference and every algorithm in parallel; slot i always
// holds run i, so the order and the numbers do not depend on scheduling.
func hideAll(b energy.Battery, run energy.Run, algos []energy.Algorithm) ([]Hidden, error) {
	out := make([]Hidden, 1+len(algos))
	out[0] = Hidden{Algorithm: None, Result: noBattery(b, run.Demand)}
	err := inParallel(len(algos), func(i int) (err error) {
		out[i+1], err = hideOne(algos[i], b, run)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// inParallel calls f(0) … f(n−1) on up to GOMAXPROCS goroutines and joins
// their errors; f writes its result into its own slot.
func inParallel(n int, f func(i int) error) error {
	errs := make([]error, n)
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = f(i)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func hideOne(a energy.Algorithm, b energy.Battery, run energy.Run) (Hidden, error) {
	name := a.Name()
	res, err := a.Hide(b, run)
	if err != nil {
		return Hidden{}, fmt.Errorf("eval: algorithm %s: %w", name, err)
	}
	n := len(run.Demand)
	if res == nil || len(res.Metered) != n || len(res.Battery) != n || len(res.Loss) != n || len(res.SoC) != n {
		return Hidden{}, fmt.Errorf("%w: %s: series lengths differ from the demand's %d", ErrResult, name, n)
	}
	return Hidden{Algorithm: name, Result: *res}, nil
}

// noBattery is the reference: the meter sees the demand itself.
func noBattery(b energy.Battery, demand []float64) energy.Result {
	n := len(demand)
	soc := make([]float64, n)
	for i := range soc {
		soc[i] = b.InitialSoC * b.CapacityKWh
	}
	return energy.Result{
		Metered: append([]float64(nil), demand...),
		Battery: make([]float64, n),
		Loss:    make([]float64, n),
		SoC:     soc,
	}
}

// algorithmRow fills the attacker-independent columns.
func algorithmRow(h Hidden, b energy.Battery, run energy.Run, opts Options) Row {
	r := Row{
		Algorithm:      h.Algorithm,
		BatteryKWh:     b.CapacityKWh,
		BatteryKW:      max(b.MaxChargeKW, b.MaxDischargeKW),
		MIBits:         metrics.MutualInformation(run.Demand, h.Metered, opts.MIBins),
		Correlation:    finite(metrics.Pearson(run.Demand, h.Metered)),
		ExtraEnergyPct: metrics.ExtraEnergyPct(run.Demand, h.Metered),
		SoCDriftKWh:    h.SoC[len(h.SoC)-1] - b.InitialSoC*b.CapacityKWh,
		LossesKWh:      lossesKWh(h.Loss, run.Step),
		PeakKW:         metrics.Peak(h.Metered) / 1000,
		Cost:           metrics.Cost(h.Metered, run.Prices, run.Step),
	}
	if h.Algorithm == None {
		r.BatteryKWh, r.BatteryKW = 0, 0
	}
	return r
}

// lossesKWh sums the loss term (pL ≤ 0, W) over the run, as positive kWh.
func lossesKWh(loss []float64, step time.Duration) float64 {
	var ws float64
	for _, l := range loss {
		ws -= l * step.Seconds()
	}
	return ws / energy.JoulesPerKWh
}

// finite maps the undefined correlation of a constant series to 0.
func finite(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return x
}

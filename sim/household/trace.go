// Package household implements no control of its own: it supplies the
// household demand p(t) that C3.load-hiding, C2.spheres-of-control and the
// privacy attackers are measured against, with per-appliance ground truth so
// that an attacker's guesses can be scored.
//
// # Sources
//
//   - [UKDALE]: one real day of UK-DALE house 2 (2-minute samples), embedded in
//     the package so that the demo needs no files. CC BY 4.0, see
//     testdata/ATTRIBUTION.md.
//   - [LoadUKDALE] and [LoadUCI]: the same formats read from any reader, for
//     longer real traces.
//   - [Synthetic]: seeded synthetic homes built on the appliance statistics of
//     the CREST demand model (Richardson, Thomson, Infield and Clifford,
//     "Domestic electricity use: a high-resolution energy demand model",
//     Energy and Buildings 42 (2010) 1878-1887).
//
// # Invariants
//
// A [Trace] is a uniform time series: sample i is the mean power in watts over
// [Start+i*Step, Start+(i+1)*Step). Every appliance series has the length of
// Mains. The loaders reject what would break that (gaps, time going
// backwards, negative or non-finite power) with a [*ParseError] naming the
// file, line and field; they never return a half-read trace.
//
// For synthetic traces Mains is exactly the sum of the appliance series (the
// always-on load is the appliance "base"), summed in a fixed order so that the
// same seed gives a bit-identical trace. Real traces are not like that: UK-DALE
// mains include unmetered loads.
//
// # Concurrency
//
// Functions here share no state; a Trace is a plain value that callers may
// read concurrently but must not mutate while others read it.
package household

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. A [*ParseError] wraps one of the loader errors.
var (
	ErrMalformed    = errors.New("household: malformed row")
	ErrHeader       = errors.New("household: bad header")
	ErrGap          = errors.New("household: gap in timestamps")
	ErrNonMonotonic = errors.New("household: timestamps not increasing")
	ErrBadValue     = errors.New("household: negative or non-finite power")
	ErrMissing      = errors.New("household: missing value")
	ErrUnits        = errors.New("household: values in the wrong unit")
	ErrTooShort     = errors.New("household: fewer than two samples")
	ErrTooLong      = errors.New("household: trace too long")
	ErrStep         = errors.New("household: step must be a positive multiple of the trace step")
)

// ParseError locates a problem in a trace file. Line is 1-based; Field is the
// column name, or "" when the whole row is at fault.
type ParseError struct {
	File  string
	Line  int
	Field string
	Err   error
}

func (e *ParseError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s:%d: %s: %v", e.File, e.Line, e.Field, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// Trace is a household's demand: whole-house power and, where known, the power
// of each appliance (the ground truth a load-disaggregation attacker tries to
// recover). All values are in watts, mean power over each step.
type Trace struct {
	Name       string
	Start      time.Time
	Step       time.Duration
	Mains      []float64
	Appliances map[string][]float64
}

// Len is the number of samples.
func (t *Trace) Len() int { return len(t.Mains) }

// End is the end of the last sample's interval.
func (t *Trace) End() time.Time { return t.Start.Add(time.Duration(len(t.Mains)) * t.Step) }

// EnergyWh integrates Mains over [from, to) with the rectangle rule; samples
// that lie partly inside the window count pro rata. Time outside the trace
// counts as zero.
func (t *Trace) EnergyWh(from, to time.Time) float64 {
	if t.Step <= 0 || !from.Before(to) || len(t.Mains) == 0 {
		return 0
	}
	if from.Before(t.Start) {
		from = t.Start
	}
	if end := t.End(); to.After(end) {
		to = end
	}
	if !from.Before(to) {
		return 0
	}
	a, b := from.Sub(t.Start), to.Sub(t.Start) // offsets, 0 <= a < b <= len*Step
	first, last := int(a/t.Step), int((b-1)/t.Step)
	var joules float64
	for i := first; i <= last; i++ {
		lo, hi := time.Duration(i)*t.Step, time.Duration(i+1)*t.Step
		lo, hi = max(lo, a), min(hi, b)
		joules += t.Mains[i] * (hi - lo).Seconds()
	}
	return joules / 3600
}

// Resample returns the trace at a coarser step, each sample the mean power of
// the samples it covers, so energy is preserved. step must be a whole
// multiple of t.Step; a trailing partial step is dropped rather than
// extrapolated.
func (t *Trace) Resample(step time.Duration) (*Trace, error) {
	if t.Step <= 0 || step < t.Step || step%t.Step != 0 {
		return nil, ErrStep
	}
	k := int(step / t.Step)
	n := len(t.Mains) / k
	out := &Trace{
		Name:       t.Name,
		Start:      t.Start,
		Step:       step,
		Mains:      meanBlocks(t.Mains, k, n),
		Appliances: make(map[string][]float64, len(t.Appliances)),
	}
	for name, s := range t.Appliances {
		out.Appliances[name] = meanBlocks(s, k, n)
	}
	return out, nil
}

func meanBlocks(s []float64, k, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		var sum float64
		for _, v := range s[i*k : (i+1)*k] {
			sum += v
		}
		out[i] = sum / float64(k)
	}
	return out
}

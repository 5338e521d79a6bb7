package gateway

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/usapp/usapp/billing"
	"github.com/usapp/usapp/control/energy"
	"github.com/usapp/usapp/framework"
	"github.com/usapp/usapp/sim/household"
)

// HEMS is the gateway's home energy manager (C3.load-hiding,
// C3.hems-arbitration): it drives the home battery with the configured hiding
// algorithm, planning with the tariff's day-ahead prices, so that what the
// meter measures at the grid connection — and therefore every reading that
// leaves the home — is the hidden load, not the appliances' signatures.
//
// Privacy is not the only party with a say over the battery. The day plan
// adds demand-response import caps, grid-emergency import caps and the
// user's overrides; the tariff adds cost. energy.Arbiter resolves their
// conflicts step by step by Priorities (highest first), and every conflict
// it resolves is returned as a [Decision] and logged at Info, so the user
// (and an operator reading the gateway's log) sees who overruled whom, when
// and why.
//
// # Wall-clock plan
//
// A [DayPlan] repeats every day: its windows are "HH:MM" times of day in the
// tariff's time zone (the zone the household's prices and clocks follow), end
// exclusive, "24:00" allowed as an end, and a window whose end is not after
// its start wraps past midnight ("22:00" to "06:00"). They follow the clock
// through daylight-saving changes. A window covers the steps of the trace
// that start inside it.
//
// In simulation the physics is a transformation of the demand trace: Metered
// returns the trace the meter sees. A HEMS is a plain value, safe to use
// from several goroutines.
type HEMS struct {
	Algorithm  energy.Algorithm // nil: no battery, the meter sees the demand
	Battery    energy.Battery
	Tariff     billing.Tariff
	Seed       int64           // seeds randomised algorithms
	Priorities []energy.Source // highest first; nil means energy.DefaultPriorities
	Plan       DayPlan
	// Planned: the HEMS starts the home's deferrable appliances itself
	// (energy.IsDeferrable: washing machine, dishwasher, tumble dryer), so it
	// tells the algorithm their runs before they begin (energy.Run.Planned).
	// In simulation the runs are read from the trace's appliances.
	Planned bool
	// Reserve is what the HEMS has learned from the home's earlier days
	// (LearnReserve): the charge the home's large loads need in the hours
	// ahead at each time of day. usapp keeps that much (energy.Run.Reserve);
	// nil: none learned.
	Reserve *Reserve
	Home    string       // identity in the decision log (the meter's name or LFDI)
	Log     *slog.Logger // receives every decision at Info; nil means slog.Default()
}

// DayPlan is what besides privacy and cost wants the battery, every day.
type DayPlan struct {
	DemandResponse []ImportCap
	Emergencies    []ImportCap
	Overrides      []Override
}

// ImportCap asks the meter to read at most MaxKW from From to To, local time.
type ImportCap struct {
	From, To string // "HH:MM"; To exclusive, "24:00" allowed, To <= From wraps past midnight
	MaxKW    float64
}

// Override is the user's instruction from From to To, local time. For
// energy.ChargeBy the battery is to hold TargetSoC (a fraction of capacity)
// by To; for energy.BatteryOff it stays idle.
type Override struct {
	Kind      energy.OverrideKind
	From, To  string
	TargetSoC float64
}

// Decision is one conflict the arbiter resolved, over [From, To) of wall-clock
// time (steps [Step, Step+Steps) of the trace), in the tariff's time zone.
// Reason is that of its first step. Its JSON form (RFC 3339 times) is what
// GET /hems/decisions serves.
type Decision struct {
	From     time.Time     `json:"from"`
	To       time.Time     `json:"to"`
	Step     int           `json:"step"`
	Steps    int           `json:"steps"`
	Conflict string        `json:"conflict"`
	Winner   energy.Source `json:"winner"`
	Loser    energy.Source `json:"loser"`
	Reason   string        `json:"reason"`
}

// ErrPlan reports a day plan the HEMS cannot place on the clock.
var ErrPlan = errors.New("gateway: invalid hems day plan")

// ErrHistory reports a history the HEMS cannot learn a reserve from.
var ErrHistory = errors.New("gateway: invalid hems history")

// Metered returns what the meter measures for the home's demand tr, the
// battery's run and the arbitration decisions. The state of charge is
// returned to its start by the end of the trace, so that privacy is not paid
// for with a flat battery.
func (h HEMS) Metered(tr *household.Trace) (*household.Trace, *energy.Result, []Decision, error) {
	if h.Algorithm == nil {
		return tr, nil, nil, nil
	}
	loc, err := h.Tariff.Location()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("gateway: hems: tariff time zone: %w", err)
	}
	plan, err := h.Plan.steps(tr.Start, tr.Step, len(tr.Mains), loc)
	if err != nil {
		return nil, nil, nil, err
	}
	run := energy.Run{Demand: tr.Mains, Step: tr.Step, ReturnSoC: true, Seed: h.Seed,
		Prices: h.Tariff.Schedule(tr.Start, tr.Step, len(tr.Mains))}
	if h.Planned {
		run.Planned = energy.PlannedLoads(tr.Appliances, tr.Step)
	}
	if h.Reserve != nil {
		if run.Reserve, err = h.Reserve.along(tr); err != nil {
			return nil, nil, nil, err
		}
	}
	res, log, err := energy.Arbiter{Priorities: h.Priorities}.Run(h.Battery, run, h.Algorithm, plan)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("gateway: hems %s: %w", h.Algorithm.Name(), err)
	}
	ds := h.decisions(log, tr.Start, tr.Step, loc)
	return &household.Trace{Name: tr.Name + " (metered, " + h.Algorithm.Name() + ")", Start: tr.Start, Step: tr.Step,
		Mains: res.Metered}, res, ds, nil
}

// Reserve is a HEMS's memory of the home's large loads: at each step of a
// day from Start's time of day, the mean energy (kWh) that demand above
// energy.ReserveAboveW needed over the next energy.ReserveAhead on the Days
// it was learned from. It is small (one value per step), so a gateway keeps
// it rather than the days.
type Reserve struct {
	Days  int
	Start time.Time // the first day's start; only its time of day matters
	Step  time.Duration
	KWh   []float64
}

// LearnReserve learns a Reserve from the home's demand on earlier days, as the
// HEMS measured it (in simulation, household.Synthetic.History): each a whole
// day, all at one step and starting at one time of day. Anything else is an
// ErrHistory naming the day. No days teach nothing: the Reserve is nil, as
// HEMS.Reserve is for a home without history.
func LearnReserve(history []*household.Trace) (*Reserve, error) {
	if len(history) == 0 {
		return nil, nil
	}
	first := history[0]
	days := make([][]float64, len(history))
	for d, day := range history {
		if day.Step != first.Step || !sameTimeOfDay(day.Start, first.Start) {
			return nil, fmt.Errorf("%w: day %d (%s) has steps of %v from %s, day 0 of %v from %s", ErrHistory,
				d, day.Name, day.Step, day.Start.Format(time.TimeOnly), first.Step, first.Start.Format(time.TimeOnly))
		}
		days[d] = day.Mains
	}
	kWh, err := energy.ReserveFromHistory(days, first.Step)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHistory, err)
	}
	return &Reserve{Days: len(history), Start: first.Start, Step: first.Step, KWh: kWh}, nil
}

// along lays the reserve along tr, step by step from tr's time of day.
func (r *Reserve) along(tr *household.Trace) ([]float64, error) {
	if len(r.KWh) == 0 {
		return nil, fmt.Errorf("%w: an empty reserve", ErrHistory)
	}
	if tr.Step != r.Step || !sameTimeOfDay(tr.Start, r.Start) {
		return nil, fmt.Errorf("%w: learned at steps of %v from %s, the trace has %v from %s", ErrHistory,
			r.Step, r.Start.Format(time.TimeOnly), tr.Step, tr.Start.Format(time.TimeOnly))
	}
	out := make([]float64, len(tr.Mains))
	for i := range out {
		out[i] = r.KWh[i%len(r.KWh)]
	}
	return out, nil
}

// days is how many days r was learned from, 0 for none.
func (r *Reserve) days() int {
	if r == nil {
		return 0
	}
	return r.Days
}

// sameTimeOfDay reports whether a and b are a whole number of days apart.
func sameTimeOfDay(a, b time.Time) bool { return a.Sub(b)%(24*time.Hour) == 0 }

// decisions places the arbiter's step decisions on the clock and logs each.
func (h HEMS) decisions(log []energy.Decision, start time.Time, step time.Duration, loc *time.Location) []Decision {
	out := make([]Decision, 0, len(log))
	for _, d := range log {
		out = append(out, Decision{Step: d.Step, Steps: d.Steps, Conflict: d.Conflict, Winner: d.Winner, Loser: d.Loser, Reason: d.Reason})
	}
	l := h.Log
	if l == nil {
		l = slog.Default()
	}
	for i := range out {
		d := &out[i]
		d.From, d.To = start.Add(time.Duration(d.Step)*step).In(loc), start.Add(time.Duration(d.Step+d.Steps)*step).In(loc)
		l.Info("hems decision", "home", h.Home, "from", d.From.Format(time.RFC3339), "to", d.To.Format(time.RFC3339),
			"conflict", d.Conflict, "winner", string(d.Winner), "loser", string(d.Loser), "reason", d.Reason)
	}
	return out
}

// steps turns the daily windows into step windows of a trace of n steps of
// length step from start, one per day the trace touches, clipped to it.
func (p DayPlan) steps(start time.Time, step time.Duration, n int, loc *time.Location) (energy.Plan, error) {
	var out energy.Plan
	var errs []error
	place := func(field, from, to string) [][2]int {
		ws, err := windows(from, to, start, step, n, loc)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: %s: %w", ErrPlan, field, err))
		}
		return ws
	}
	caps := func(field string, cs []ImportCap) []energy.ImportCap {
		var out []energy.ImportCap
		for i, c := range cs {
			for _, w := range place(fmt.Sprintf("%s[%d]", field, i), c.From, c.To) {
				out = append(out, energy.ImportCap{From: w[0], To: w[1], MaxMeteredW: c.MaxKW * 1000})
			}
		}
		return out
	}
	out.DemandResponse = caps("DemandResponse", p.DemandResponse)
	out.Emergencies = caps("Emergencies", p.Emergencies)
	for i, o := range p.Overrides {
		for _, w := range place(fmt.Sprintf("Overrides[%d]", i), o.From, o.To) {
			out.Overrides = append(out.Overrides, energy.Override{Kind: o.Kind, From: w[0], To: w[1], TargetSoC: o.TargetSoC})
		}
	}
	return out, errors.Join(errs...)
}

// windows returns the step windows [from, to) that the daily window covers
// in the trace. A window that starts before the trace and ends inside it is
// kept from step 0: a cap or an override in force when the trace begins
// applies to it.
func windows(from, to string, start time.Time, step time.Duration, n int, loc *time.Location) ([][2]int, error) {
	f, t, errs := dailyWindow(from, to)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if t < f {
		t += 24 * time.Hour
	}
	end := start.Add(time.Duration(n) * step)
	y, m, d := start.In(loc).Date()
	var out [][2]int
	// From the day before the trace, whose window may wrap into it.
	for k := -1; ; k++ {
		day := time.Date(y, m, d+k, 0, 0, 0, 0, loc)
		if !day.Before(end) {
			break
		}
		a, b := stepAt(wallClock(day, f), start, step, n), stepAt(wallClock(day, t), start, step, n)
		if a < b {
			out = append(out, [2]int{a, b})
		}
	}
	return out, nil
}

// FieldError is a problem with one field of a day-plan entry, named as a
// configuration file spells it: "from", "to" or "max_kw". It wraps ErrPlan.
type FieldError struct {
	Field   string
	Problem string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }
func (e *FieldError) Unwrap() error { return ErrPlan }

func planField(field, problem string) error { return &FieldError{Field: field, Problem: problem} }

var errClock = fmt.Errorf("%w: want HH:MM from 00:00 to 24:00", ErrPlan)

// dailyWindow reads a window's times of day and checks that it is not empty;
// every problem is a *FieldError.
func dailyWindow(from, to string) (f, t time.Duration, errs []error) {
	f, errF := ParseClock(from, false)
	t, errT := ParseClock(to, true)
	if errF != nil {
		errs = append(errs, planField("from", "want a time of day HH:MM from 00:00 to 23:59"))
	}
	if errT != nil {
		errs = append(errs, planField("to", "want a time of day HH:MM from 00:00 to 24:00"))
	}
	if errF == nil && errT == nil && f == t {
		errs = append(errs, planField("to", "equals from; a window must not be empty (one ending before it starts wraps past midnight)"))
	}
	return f, t, errs
}

// Check reports every problem with the cap, each a *FieldError: the window
// and a cap that must be a finite number of kW, 0 or more (0: no import).
func (c ImportCap) Check() error {
	_, _, errs := dailyWindow(c.From, c.To)
	if math.IsNaN(c.MaxKW) || math.IsInf(c.MaxKW, 0) || c.MaxKW < 0 {
		errs = append(errs, planField("max_kw", "must be a number of kW, 0 or more"))
	}
	return errors.Join(errs...)
}

// Check reports every problem with the override's window, each a
// *FieldError; its target is checked against the battery when it runs.
func (o Override) Check() error {
	_, _, errs := dailyWindow(o.From, o.To)
	return errors.Join(errs...)
}

// wallClock is the instant at time of day tod (up to 48 h) on the local day
// that begins at midnight: counted on the clock face, so 17:00 is 17:00 on a
// day with a daylight-saving change too.
func wallClock(midnight time.Time, tod time.Duration) time.Time {
	y, m, d := midnight.Date()
	mins := int(tod / time.Minute)
	return time.Date(y, m, d, mins/60, mins%60, 0, 0, midnight.Location())
}

// stepAt is the first step that starts at or after at, clipped to [0, n].
func stepAt(at, start time.Time, step time.Duration, n int) int {
	d := at.Sub(start)
	if d <= 0 {
		return 0
	}
	i := int((d + step - 1) / step)
	return min(i, n)
}

// ParseClock reads a day plan's time of day with billing.ParseClock, the
// syntax tariffs use too; errors wrap ErrPlan.
func ParseClock(s string, end bool) (time.Duration, error) {
	d, err := billing.ParseClock(s, end)
	if err != nil {
		return 0, errClock
	}
	return d, nil
}

// Controls reports the HEMS for GET /controls: load hiding and the
// arbitration that ranks it, or nothing when it runs no hiding algorithm.
func (h HEMS) Controls() []framework.Active {
	if h.Algorithm == nil {
		return nil
	}
	prio := h.Priorities
	if prio == nil {
		prio = energy.DefaultPriorities()
	}
	ranked := make([]string, len(prio))
	for i, s := range prio {
		ranked[i] = string(s)
	}
	return []framework.Active{
		{ID: framework.LoadHiding, Params: map[string]string{
			"algorithm":    h.Algorithm.Name(),
			"battery_kwh":  fmt.Sprint(h.Battery.CapacityKWh),
			"battery_kw":   fmt.Sprint(h.Battery.MaxDischargeKW),
			"planned":      fmt.Sprint(h.Planned),
			"history_days": fmt.Sprint(h.Reserve.days()),
		}},
		{ID: framework.HEMSArbitration, Params: map[string]string{
			"priorities":      strings.Join(ranked, ","),
			"demand_response": fmt.Sprint(len(h.Plan.DemandResponse)),
			"emergencies":     fmt.Sprint(len(h.Plan.Emergencies)),
			"overrides":       fmt.Sprint(len(h.Plan.Overrides)),
		}},
	}
}

package energy

import (
	"errors"
	"fmt"
	"math"
)

// Source is a party with a say over the battery at some step.
type Source string

// The sources an Arbiter ranks. Battery limits are not a source one can
// rank: physics always wins, and a wish it defeats is logged with
// SourceBattery as the winner.
const (
	SourceEmergency      Source = "grid-emergency"
	SourceOverride       Source = "user-override"
	SourceDemandResponse Source = "demand-response"
	SourcePrivacy        Source = "privacy"
	SourceCost           Source = "cost"
	SourceBattery        Source = "battery-limits"
)

// DefaultPriorities ranks, highest first: a grid emergency, the user's
// override, a demand-response request, privacy, cost.
func DefaultPriorities() []Source {
	return []Source{SourceEmergency, SourceOverride, SourceDemandResponse, SourcePrivacy, SourceCost}
}

// ImportCap limits the metered power to MaxMeteredW during steps [From, To):
// a demand-response request or a grid emergency.
type ImportCap struct {
	From, To    int
	MaxMeteredW float64
}

// OverrideKind is what the user asked for.
type OverrideKind int

// User overrides.
const (
	ChargeBy   OverrideKind = iota + 1 // reach TargetSoC by step To
	BatteryOff                         // leave the battery idle during [From, To)
)

// Override is a user's instruction for steps [From, To).
type Override struct {
	Kind      OverrideKind
	From, To  int
	TargetSoC float64 // fraction of capacity, for ChargeBy
}

// Plan is everything besides privacy that wants the battery during a run.
// Cost is active when the Run has Prices: in the cheapest band it asks the
// battery not to discharge, in the dearest not to charge.
type Plan struct {
	Emergencies    []ImportCap
	DemandResponse []ImportCap
	Overrides      []Override
}

// Decision records one conflict and its outcome. A conflict that recurs at
// the step its previous decision ended extends that decision, even when
// other conflicts were recorded in between (two conflicts settled at every
// step of a window would otherwise alternate into a decision per step): the
// decision covers steps [Step, Step+Steps) and keeps the Reason of its first
// step.
type Decision struct {
	Step     int
	Steps    int
	Conflict string // the two wishes that clashed, "privacy: hidden level vs demand-response: import cap"
	Winner   Source
	Loser    Source
	Reason   string // what the loser got instead, in watts of cell power
}

// Arbiter resolves what the battery does when privacy, cost, demand
// response, grid emergencies and the user disagree. It is pure: it reads its
// inputs and returns a Result and the decisions, and may be used
// concurrently.
type Arbiter struct {
	Priorities []Source // highest first; nil means DefaultPriorities
}

// wish is one source's acceptable interval of cell power at a step.
type wish struct {
	src    Source
	what   string
	lo, hi float64
}

// Run hides the demand with the privacy algorithm (nil for none), then
// replays the run step by step through the battery simulator, letting every
// source in priority order narrow the cell power the earlier ones left
// open. A wish outside what is left loses: it gets the nearest allowed power
// and a Decision names the source that beat it. Privacy asks for the metered
// level its algorithm chose; where others move the battery, the state of
// charge differs from the one privacy planned with, and the simulator's
// clamps keep physics right.
func (a Arbiter) Run(b Battery, r Run, privacy Algorithm, plan Plan) (*Result, []Decision, error) {
	prio, err := a.priorities()
	if err != nil {
		return nil, nil, err
	}
	s, err := newSim(b, r)
	if err != nil {
		return nil, nil, err
	}
	if err := plan.validate(b, len(r.Demand)); err != nil {
		return nil, nil, err
	}
	var hidden *Result
	if privacy != nil {
		if hidden, err = privacy.Hide(b, r); err != nil {
			return nil, nil, err
		}
	}
	cheap, dear := priceRange(r.Prices)
	log := decisionLog{open: map[string]int{}}
	for s.t < s.n() {
		ws := a.wishes(s, plan, hidden, cheap, dear)
		pB := resolve(s, prio, ws, &log)
		s.apply(pB)
	}
	return s.res, log.list, nil
}

func (a Arbiter) priorities() ([]Source, error) {
	if a.Priorities == nil {
		return DefaultPriorities(), nil
	}
	want := map[Source]bool{}
	for _, src := range DefaultPriorities() {
		want[src] = true
	}
	for _, src := range a.Priorities {
		if !want[src] {
			return nil, fmt.Errorf("%w: %q", ErrPriorities, src)
		}
		delete(want, src)
	}
	if len(want) != 0 {
		return nil, ErrPriorities
	}
	return a.Priorities, nil
}

func (a Arbiter) wishes(s *sim, plan Plan, hidden *Result, cheap, dear float64) []wish {
	t, p := s.t, s.demand()
	inf := math.Inf(1)
	var ws []wish
	for _, c := range plan.Emergencies {
		if t >= c.From && t < c.To {
			ws = append(ws, wish{SourceEmergency, "import cap", s.cellFor(p, c.MaxMeteredW), inf})
		}
	}
	for _, c := range plan.DemandResponse {
		if t >= c.From && t < c.To {
			ws = append(ws, wish{SourceDemandResponse, "import cap", s.cellFor(p, c.MaxMeteredW), inf})
		}
	}
	for _, o := range plan.Overrides {
		if t < o.From || t >= o.To {
			continue
		}
		switch o.Kind {
		case BatteryOff:
			ws = append(ws, wish{SourceOverride, "battery off", 0, 0})
		case ChargeBy:
			if need := o.TargetSoC*s.capKWh - s.soc; need > 0 {
				rate := need * JoulesPerKWh / (float64(o.To-t) * s.dt)
				ws = append(ws, wish{SourceOverride, "charge by deadline", -inf, -rate})
			}
		}
	}
	if hidden != nil {
		x := s.cellFor(p, hidden.Metered[t])
		ws = append(ws, wish{SourcePrivacy, "hidden level", x, x})
	}
	if r := s.r.Prices; r != nil && dear > cheap {
		switch r[t] {
		case cheap:
			ws = append(ws, wish{SourceCost, "cheap band: no discharge", -inf, 0})
		case dear:
			ws = append(ws, wish{SourceCost, "dear band: no charge", 0, inf})
		}
	}
	return ws
}

// wishSlackW is how far (W) a wish may lie outside what is left and still
// count as met: the privacy wish is recomputed from a metered level, and
// floating-point rounding must not turn an exact fit into a logged conflict.
const wishSlackW = 1e-6

// resolve narrows the physics interval by each wish in priority order and
// returns the cell power closest to idle in what is left.
func resolve(s *sim, prio []Source, ws []wish, log *decisionLog) float64 {
	lo, hi := s.bounds(s.demand())
	loBy := wish{src: SourceBattery, what: "limits"}
	hiBy := loBy
	for _, src := range prio {
		for _, w := range ws {
			if w.src != src {
				continue
			}
			switch {
			case w.lo > hi+wishSlackW:
				log.record(s.t, w, hiBy, hi)
				lo, loBy = hi, hiBy
			case w.hi < lo-wishSlackW:
				log.record(s.t, w, loBy, lo)
				hi, hiBy = lo, loBy
			default:
				if w.lo > lo {
					lo, loBy = math.Min(w.lo, hi), w
				}
				if w.hi < hi {
					hi, hiBy = math.Max(w.hi, lo), w
				}
			}
		}
	}
	return math.Max(lo, math.Min(hi, 0))
}

// decisionLog is the arbiter's record; open maps each conflict to its latest
// decision, which a recurrence at the step it ended extends.
type decisionLog struct {
	list []Decision
	open map[string]int
}

func (l *decisionLog) record(t int, loser, winner wish, got float64) {
	conflict := fmt.Sprintf("%s: %s vs %s: %s", loser.src, loser.what, winner.src, winner.what)
	if i, ok := l.open[conflict]; ok {
		if d := &l.list[i]; d.Step+d.Steps == t {
			d.Steps++
			return
		}
	}
	l.open[conflict] = len(l.list)
	l.list = append(l.list, Decision{
		Step: t, Steps: 1, Conflict: conflict, Winner: winner.src, Loser: loser.src,
		Reason: fmt.Sprintf("%s outranks %s; battery at %.0f W instead of [%.0f, %.0f] W", winner.src, loser.src, got, loser.lo, loser.hi),
	})
}

func priceRange(prices []float64) (cheap, dear float64) {
	if len(prices) == 0 {
		return 0, 0
	}
	cheap, dear = prices[0], prices[0]
	for _, c := range prices {
		cheap, dear = math.Min(cheap, c), math.Max(dear, c)
	}
	return cheap, dear
}

func (pl Plan) validate(b Battery, n int) error {
	var errs []error
	bad := func(field string, err error) {
		errs = append(errs, &FieldError{Field: field, Err: fmt.Errorf("%w: %w", ErrPlan, err)})
	}
	window := func(field string, from, to int) {
		if from < 0 || to > n || from >= to {
			bad(field, errWindow)
		}
	}
	caps := []struct {
		name string
		cs   []ImportCap
	}{{"Emergencies", pl.Emergencies}, {"DemandResponse", pl.DemandResponse}}
	for _, g := range caps {
		for i, c := range g.cs {
			f := fmt.Sprintf("%s[%d]", g.name, i)
			window(f, c.From, c.To)
			if !finite(c.MaxMeteredW) || c.MaxMeteredW < 0 {
				bad(f+".MaxMeteredW", errNegative)
			}
		}
	}
	for i, o := range pl.Overrides {
		f := fmt.Sprintf("Overrides[%d]", i)
		window(f, o.From, o.To)
		switch o.Kind {
		case BatteryOff:
		case ChargeBy:
			if !finite(o.TargetSoC) || o.TargetSoC < b.MinSoC || o.TargetSoC > b.MaxSoC {
				bad(f+".TargetSoC", errSoCRange)
			}
		default:
			bad(f+".Kind", errKind)
		}
	}
	return errors.Join(errs...)
}

var (
	errWindow = errors.New("want 0 <= From < To <= number of steps")
	errKind   = errors.New("unknown override kind")
)

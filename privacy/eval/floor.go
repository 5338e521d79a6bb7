package eval

import (
	"fmt"
	"math"
	"sync"
	"time"

	"gonum.org/v1/gonum/optimize"

	"github.com/usapp/usapp/control/energy"

	"github.com/usapp/usapp/privacy/metrics"
	"github.com/usapp/usapp/sim/household"
)

// Budget is what a hider may spend to hide a day: the energy side of
// [MIFloor].
type Budget struct {
	// Efficiency is the battery's round-trip efficiency η in (0, 1].
	Efficiency float64
	// ExtraEnergyPct bounds 100·(Σq − Σp)/Σp, the row's extra_energy_pct.
	ExtraEnergyPct float64
	// DrawdownPct is how far below its starting charge the battery may end,
	// in percent of the day's demand energy; 0 means returned (or above).
	DrawdownPct float64
	// PowerW bounds |q − p| at every step (the battery's power); 0 means
	// unlimited.
	PowerW float64
	// Store, when not nil, bounds the battery's stored energy over the day;
	// nil allows any capacity.
	Store *Store
}

// Store is the battery's capacity as [MIFloor] sees it: at every multiple
// of Every from the start of the day the energy stored may be at most UpKWh
// above its starting charge and at most DownKWh below it. The battery's own
// SoC window holds at every step; checking it at fewer moments only relaxes
// the problem, so the floor stays a floor, and a finer Every tightens it at
// the cost of more multipliers.
type Store struct {
	UpKWh, DownKWh float64
	Step           time.Duration // length of one demand sample
	Every          time.Duration // 0 means 30 min
}

// StoreOf is battery b's capacity for a trace sampled every step: the room
// above and below its initial charge inside its SoC window.
func StoreOf(b energy.Battery, step time.Duration) *Store {
	c := b.CapacityKWh
	return &Store{UpKWh: (b.MaxSoC - b.InitialSoC) * c, DownKWh: (b.InitialSoC - b.MinSoC) * c, Step: step}
}

// MaxFloorSamples bounds [MIFloor] as MaxReferenceSamples bounds the
// reference. The 2,203-sample UCI excerpt takes 4.4 s for the floors of
// "none" and usapp together with the battery's store, on two cores (usapp
// privacy eval --data sim/household/testdata/uci_*.txt --algo usapp
// --attacker hart --floor).
const MaxFloorSamples = MaxReferenceSamples

// FloorIterations bounds the optimiser in [MIFloor] per smoothing stage.
// The floor is a proof at every iteration; more iterations only tighten it,
// slowly: on synthetic home 3 at [300, 600] W and 3 %, the two stages of
// floorTemperatures give 0.241 bits in 2.0 s, a third (τ = 0.005) 0.253 in
// 3.0 s (MIFloor on Builtin("synthetic", 3) with PowerW 3000, 32 bins).
const FloorIterations = 300

// floorTemperatures are the smoothing stages of the dual, in bits: coarse
// first, for a well-conditioned start, then close to the exact minimum.
var floorTemperatures = []float64{0.1, 0.02}

// MIFloor is a lower bound on the mutual information I(p; q) that any
// metered trace q can reach on the demand p while keeping its range exactly
// [lo, hi], never exporting (q ≥ 0) and staying within the budget b, with
// I binned as [metrics.MutualInformation] bins it. No hider, causal or not,
// can leak less at that range and cost with a battery of any capacity, or of
// b.Store's when there is one: it answers "how far is this algorithm from the
// best possible?" where [Reference] only answers it for flat holds.
//
// # How it is proved
//
// The binned MI sees only which of the bins equal-width bins of [lo, hi]
// each sample lands in (its label j); the energy depends on where in the bin
// q lies. Relax the hider: let each sample draw its label at random,
// forget the order of the samples (a battery that knows the whole day, of
// unlimited capacity, or checked against a Store only at a few moments) and
// let q be chosen freely inside the label's bin.
// The least MI of that relaxation is a convex problem (a rate–distortion
// problem with per-sample distortion; Cover and Thomas, "Elements of
// Information Theory", ch. 10), and weak duality gives, for any multiplier
// λ ≥ 0 on the energy budget, ν ≥ 0 on the battery balance and any label
// potentials u(x, j) with Σ_x P(x)·2^u(x,j) ≤ 1 for every label j (x the
// demand bin, P its frequency):
//
//	I(p; q) ≥ (1/N) Σ_t min_j [N·κ_tj + u(x_t, j)] − λ·e·S − ν·δ·S
//
// where S = Σp, e and δ are the budget's extra energy and drawdown as
// fractions, and κ_tj is the least of λ(c − d) + ν(d − η·c) over the q the
// sample may take in label j's bin, with c = (q − p)⁺ charged and
// d = (p − q)⁺ discharged (the extra energy is C − D and a returned battery
// needs D ≤ η·C).
//
// A Store adds, for each of its checks k, a multiplier σ_k of either sign on
// the stored energy there: every unit of η·c − d a sample stores adds
// Σ_{k' at or after it} σ_k' to its κ, and the bound pays up·σ_k⁺ + down·σ_k⁻
// for the room. The store is checked at a few moments rather than every
// sample and its order inside a block is free, which only relaxes it.
//
// MIFloor maximises that bound over (u, λ, ν, σ) with L-BFGS
// on a smoothed version (a soft minimum is below the minimum, so every
// iterate is a proof too) and returns the best value found, clamped at 0.
// The optimiser only decides how tight the floor is, never whether it holds;
// TestMIFloorHoldsForAnyTrace checks it against random traces.
//
// # What it does not say
//
// The floor is for one range: a wider range means wider bins, inside which q
// may follow p unseen, so the floor usually falls as the range grows (a
// single passed-through spike widens it). It is not the floor over all
// ranges. A floor above log₂(bins), which no MI can exceed, proves that no
// trace with that range meets the budget at all; +Inf says so outright (some
// sample cannot reach any bin within the battery's power). The optimiser
// need not find that proof for every unreachable budget.
//
// Where the floor sits far below a hider's MI at the same cost, the floor's
// relaxed hider gets there by letting q follow p inside a bin, which binned
// MI cannot see (and an event attacker partly can): a floor near 0 says the
// MI figure alone cannot rule a budget out, not that a real hider leaks
// nothing.
//
// It costs O(iterations·N·bins) time: 1.0–1.1 s for the 720-sample UK-DALE day
// (go test ./privacy/eval -run xxx -bench 'MIFloor$'), about half as much
// again with a Store; traces longer than MaxFloorSamples are refused.
func MIFloor(demand []float64, lo, hi float64, b Budget, bins int) (float64, error) {
	f, err := newFloorProblem(demand, lo, hi, b, bins)
	if err != nil {
		return 0, err
	}
	if f.infeasible() {
		return math.Inf(1), nil
	}
	x := f.start()
	best := f.bound(x, 0, nil)
	for _, st := range f.stages() {
		// Every point the optimiser evaluates is a proof (the soft minimum
		// is below the minimum), so the best is kept even when the dual is
		// unbounded and the optimiser runs off to infinity: then no trace
		// meets the budget, and the values it passed on the way say so.
		keep := func(v float64) float64 {
			if !math.IsNaN(v) {
				best = math.Max(best, v)
			}
			return v
		}
		prob := optimize.Problem{
			Func: func(x []float64) float64 { return -keep(f.bound(x, st.tau, nil)) },
			Grad: func(g, x []float64) {
				keep(f.bound(x, st.tau, g))
				for i := range g {
					g[i] = -g[i]
				}
				if !st.store { // σ stays where it is
					clear(g[f.bins*f.bins+2:])
				}
			},
		}
		// The optimiser's status (iteration limit, line-search trouble) does
		// not matter: whatever point it reached is evaluated exactly below.
		res, _ := optimize.Minimize(prob, x, &optimize.Settings{MajorIterations: FloorIterations}, &optimize.LBFGS{})
		if res != nil && allFinite(res.X) {
			x = res.X
		}
		best = math.Max(best, f.bound(x, 0, nil))
	}
	return math.Max(best, 0), nil
}

// floorStage is one run of the optimiser: its smoothing temperature and
// whether the store's prices move.
type floorStage struct {
	tau   float64
	store bool
}

// stages runs floorTemperatures with the store's prices held at 0, which is
// the floor without a store, and then, when there is a store, once more at
// the finest temperature with them free. Freeing them from the start lets
// the optimiser wander off into a worse bound than the storeless one in the
// same number of iterations.
func (f *floorProblem) stages() []floorStage {
	var s []floorStage
	for _, tau := range floorTemperatures {
		s = append(s, floorStage{tau: tau})
	}
	if f.checks > 0 {
		s = append(s, floorStage{tau: floorTemperatures[len(floorTemperatures)-1], store: true})
	}
	return s
}

// floorProblem holds one MIFloor instance: the demand, its bins, and for
// every (sample, label) the interval of q the sample may take there.
type floorProblem struct {
	p      []float64
	bins   int
	xbin   []int     // demand bin of each sample
	freq   []float64 // P(x), the frequency of demand bin x
	qlo    []float64 // per (t, j): lowest q in label j's bin the sample can reach
	qhi    []float64 // per (t, j): highest; qlo > qhi means unreachable
	eta    float64
	extra  float64 // e·S, W·samples
	drawdn float64 // δ·S
	energy float64 // S
	// The store's checks: after every block samples (and at the end) the
	// sum of η·c − d so far must lie in [−down, up] (W·samples, the store's
	// kWh seen from the grid side); checks is 0 without a Store.
	block, checks int
	up, down      float64
	// swing is Σ_t max |q − p| over the range, W·samples: it scales the
	// rounding error of the bound's sums.
	swing float64
}

func newFloorProblem(demand []float64, lo, hi float64, b Budget, bins int) (*floorProblem, error) {
	switch {
	case len(demand) == 0:
		return nil, fmt.Errorf("%w: MI floor of an empty demand", ErrOptions)
	case len(demand) > MaxFloorSamples:
		return nil, fmt.Errorf("%w: the MI floor takes at most %d samples, the demand has %d", ErrTooLong, MaxFloorSamples, len(demand))
	case bins < 2:
		return nil, fmt.Errorf("%w: at least two mutual-information bins", ErrOptions)
	case !finiteNonNegative(lo) || !finiteNonNegative(hi) || hi < lo:
		return nil, fmt.Errorf("%w: metered range [%g, %g] W must satisfy 0 ≤ lo ≤ hi", ErrOptions, lo, hi)
	case !(b.Efficiency > 0 && b.Efficiency <= 1):
		return nil, fmt.Errorf("%w: round-trip efficiency must lie in (0, 1]", ErrOptions)
	case math.IsNaN(b.ExtraEnergyPct) || math.IsInf(b.ExtraEnergyPct, 0):
		return nil, fmt.Errorf("%w: extra energy budget must be finite", ErrOptions)
	case !finiteNonNegative(b.DrawdownPct) || !finiteNonNegative(b.PowerW):
		return nil, fmt.Errorf("%w: drawdown and power must be finite and not negative", ErrOptions)
	}
	f := &floorProblem{p: demand, bins: bins, xbin: metrics.Bins(demand, bins), freq: make([]float64, bins), eta: b.Efficiency}
	for i, w := range demand {
		if !finiteNonNegative(w) {
			return nil, fmt.Errorf("%w: demand sample %d is %g W", ErrOptions, i, w)
		}
		f.energy += w
		f.freq[f.xbin[i]] += 1 / float64(len(demand))
	}
	if f.energy == 0 {
		return nil, fmt.Errorf("%w: MI floor of a demand with no energy", ErrOptions)
	}
	f.extra, f.drawdn = b.ExtraEnergyPct/100*f.energy, b.DrawdownPct/100*f.energy
	if err := f.setStore(b.Store); err != nil {
		return nil, err
	}
	power := b.PowerW
	if power == 0 {
		power = math.Inf(1)
	}
	// Each bin is widened by a hair so that rounding at its edges (here or
	// in metrics.Bins) cannot shut out a q the metric would put in it; a
	// wider bin only relaxes the problem, so the floor stays a floor.
	width, hair := (hi-lo)/float64(bins), 1e-9*(1+hi)
	f.qlo, f.qhi = make([]float64, len(demand)*bins), make([]float64, len(demand)*bins)
	for t, w := range demand {
		f.swing += math.Max(math.Abs(w-lo), math.Abs(hi-w))
		for j := range bins {
			k := t*bins + j
			f.qlo[k] = math.Max(math.Max(lo+float64(j)*width-hair, 0), w-power)
			f.qhi[k] = math.Min(lo+float64(j+1)*width+hair, w+power)
		}
	}
	return f, nil
}

// setStore turns a Store into checks on the running sum of η·c − d. A
// charge c (grid side) stores √η·c and a discharge d takes d/√η out
// (energy.OneWayEfficiency), so the stored energy after t samples of length
// dt is (dt/√η)·Σ(η·c − d).
func (f *floorProblem) setStore(st *Store) error {
	if st == nil {
		return nil
	}
	if !finiteNonNegative(st.UpKWh) || !finiteNonNegative(st.DownKWh) || st.Step <= 0 || st.Every < 0 {
		return fmt.Errorf("%w: store needs finite room up and down and a positive sample step", ErrOptions)
	}
	every := st.Every
	if every == 0 {
		every = 30 * time.Minute
	}
	f.block = max(1, int(every/st.Step))
	f.checks = (len(f.p) + f.block - 1) / f.block
	perKWh := energy.JoulesPerKWh * energy.OneWayEfficiency(f.eta) / st.Step.Seconds()
	f.up, f.down = st.UpKWh*perKWh, st.DownKWh*perKWh
	return nil
}

func finiteNonNegative(x float64) bool { return x >= 0 && !math.IsInf(x, 1) }

func allFinite(xs []float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// infeasible reports a sample that can reach no bin at all.
func (f *floorProblem) infeasible() bool {
	for t := range f.p {
		ok := false
		for j := range f.bins {
			ok = ok || f.qlo[t*f.bins+j] <= f.qhi[t*f.bins+j]
		}
		if !ok {
			return true
		}
	}
	return false
}

// The optimisation variables: bins×bins potentials u(x, j) (row x), then
// log λ·S and log ν·S, so that the multipliers stay positive and O(1), then
// σ_k·S for each store check k, free in sign (positive prices the store's
// top, negative its bottom). Every σ starts at 0, where the bound is the
// one without a store: the store can only raise it from there.
func (f *floorProblem) start() []float64 {
	nu := f.bins * f.bins
	x := make([]float64, nu+2+f.checks)
	x[nu], x[nu+1] = math.Log(30), math.Log(32)
	return x
}

// storeTerms returns, for each block of samples, the price Σ_{k' ≥ k} σ_k'
// of a unit of η·c − d stored in it (a unit stored in block k is still
// there at every later check), and the room the checks charge for:
// Σ_k up·σ_k⁺ + down·σ_k⁻.
func (f *floorProblem) storeTerms(x []float64) (price []float64, room float64) {
	sigma := x[f.bins*f.bins+2:]
	price = make([]float64, f.checks)
	var sum float64
	for k := f.checks - 1; k >= 0; k-- {
		sum += sigma[k] / f.energy
		price[k] = sum
		room += (f.up*math.Max(sigma[k], 0) + f.down*math.Max(-sigma[k], 0)) / f.energy
	}
	return price, room
}

// roomSlope is the bound's slope in σ_k·S given the expected store held at
// check k: the slope on the side σ_k is on, and at the kink σ_k = 0 the
// steepest way up, or 0 where the check holds either way (the room is not
// smooth there; L-BFGS copes with a handful of kinks).
func (f *floorProblem) roomSlope(sigma, held float64) float64 {
	switch {
	case sigma > 0 || (sigma == 0 && held > f.up):
		return (held - f.up) / f.energy
	case sigma < 0 || (sigma == 0 && held < -f.down):
		return (held + f.down) / f.energy
	}
	return 0
}

// bound evaluates the dual at x with soft minimum temperature tau (0: the
// exact minimum) and, when grad is not nil, its gradient in x. Potentials
// are normalised per label (u − log₂ Σ_x P(x)·2^u) so that every x is
// feasible.
func (f *floorProblem) bound(x []float64, tau float64, grad []float64) float64 {
	B, n := f.bins, len(f.p)
	nu := B * B
	lam, mu := math.Exp(x[nu])/f.energy, math.Exp(x[nu+1])/f.energy
	price, room := f.storeTerms(x)
	u, share := f.normalise(x[:nu])
	var total compensatedSum
	var dLam, dMu float64
	stored := make([]float64, f.checks) // expected Σ(η·c − d) per block
	gu := make([]float64, nu)
	a := make([]float64, B)
	cs, ds := make([]float64, B), make([]float64, B)
	for t, w := range f.p {
		// The Lagrangian cost of metering is linear in the charge c and the
		// discharge d: λ(c − d) + μ(d − η·c) + σ(η·c − d).
		sigma := 0.0
		if f.checks > 0 {
			sigma = price[t/f.block]
		}
		perC, perD := lam-mu*f.eta+sigma*f.eta, mu-lam-sigma
		row := f.xbin[t] * B
		least := math.Inf(1)
		for j := range B {
			kappa, c, d := f.kappa(t*B+j, w, perC, perD)
			a[j], cs[j], ds[j] = float64(n)*kappa+u[row+j], c, d
			least = math.Min(least, a[j])
		}
		if tau == 0 {
			total.add(least)
			continue
		}
		var z float64
		for j := range B {
			z += math.Exp(-(a[j] - least) / tau)
		}
		total.add(least - tau*math.Log(z))
		if grad == nil {
			continue
		}
		for j := range B {
			wt := math.Exp(-(a[j]-least)/tau) / z
			if wt == 0 {
				continue
			}
			gu[row+j] += wt / float64(n)
			dLam += wt * (cs[j] - ds[j])
			dMu += wt * (ds[j] - f.eta*cs[j])
			if f.checks > 0 {
				stored[t/f.block] += wt * (f.eta*cs[j] - ds[j])
			}
		}
	}
	value := total.value()/float64(n) - lam*f.extra - mu*f.drawdn - room
	// The terms nearly cancel when the multipliers are huge (the optimiser
	// chasing an unbounded dual), and their rounding error could then pass
	// for a proof. Each term's cost is a few roundings off, and the
	// compensated sum adds about two more over the whole (Higham, "Accuracy
	// and Stability of Numerical Algorithms", §4.3): subtracting 16 roundings
	// of the terms' total size keeps every value a floor.
	var top float64
	for _, pr := range price {
		top = math.Max(top, math.Abs(pr))
	}
	scale := (lam+mu+top)*(1+f.eta)*f.swing + math.Abs(lam*f.extra) + mu*f.drawdn + room + total.abs/float64(n)
	value -= 16 * 0x1p-52 * scale
	if grad == nil {
		return value
	}
	grad[nu] = lam * (dLam - f.extra)
	grad[nu+1] = mu * (dMu - f.drawdn)
	var sofar float64
	for k := range f.checks {
		sofar += stored[k]
		grad[nu+2+k] = f.roomSlope(x[nu+2+k], sofar)
	}
	for j := range B {
		var col float64
		for xb := range B {
			col += gu[xb*B+j]
		}
		for xb := range B {
			grad[xb*B+j] = gu[xb*B+j] - col*share[xb*B+j]
		}
	}
	return value
}

// compensatedSum adds floats with Neumaier's correction, so that its error
// does not grow with the number of terms, and keeps the sum of their sizes.
type compensatedSum struct{ sum, carry, abs float64 }

func (c *compensatedSum) add(x float64) {
	t := c.sum + x
	if math.Abs(c.sum) >= math.Abs(x) {
		c.carry += (c.sum - t) + x
	} else {
		c.carry += (x - t) + c.sum
	}
	c.sum = t
	c.abs += math.Abs(x)
}

func (c *compensatedSum) value() float64 { return c.sum + c.carry }

// normalise returns u(x, j) − log₂ Σ_x P(x)·2^u(x,j) and each x's share
// P(x)·2^u / Σ of its label's sum (the normalisation's derivative).
func (f *floorProblem) normalise(raw []float64) (u, share []float64) {
	B := f.bins
	u, share = make([]float64, B*B), make([]float64, B*B)
	for j := range B {
		top := math.Inf(-1)
		for xb := range B {
			if f.freq[xb] > 0 {
				top = math.Max(top, raw[xb*B+j])
			}
		}
		var sum float64
		for xb := range B {
			if f.freq[xb] > 0 {
				sum += f.freq[xb] * math.Exp2(raw[xb*B+j]-top)
			}
		}
		norm := top + math.Log2(sum)
		for xb := range B {
			u[xb*B+j] = raw[xb*B+j] - norm
			if f.freq[xb] > 0 {
				share[xb*B+j] = f.freq[xb] * math.Exp2(raw[xb*B+j]-top) / sum
			}
		}
	}
	return u, share
}

// kappa is the least Lagrangian cost perC·c + perD·d of sample k's
// reachable q in its label, with the charge c and discharge d that attain
// it; +Inf where the label is out of reach. The cost is linear on each side
// of p, so the least is at an end of the interval or at q = p.
func (f *floorProblem) kappa(k int, p, perC, perD float64) (best, c, d float64) {
	lo, hi := f.qlo[k], f.qhi[k]
	if lo > hi {
		return math.Inf(1), 0, 0
	}
	best, c, d = meteringCost(lo, p, perC, perD)
	if v, cc, dd := meteringCost(hi, p, perC, perD); v < best {
		best, c, d = v, cc, dd
	}
	if lo <= p && p <= hi && best > 0 { // q = p costs nothing
		best, c, d = 0, 0, 0
	}
	return best, c, d
}

// meteringCost is the Lagrangian cost of metering q against demand p, with
// the charge and discharge it implies.
func meteringCost(q, p, perC, perD float64) (v, c, d float64) {
	if q >= p {
		c = q - p
	} else {
		d = p - q
	}
	return perC*c + perD*d, c, d
}

// FloorOf is [MIFloor] at a run's own operating point: the range of its
// metered series, its extra energy, the drawdown it actually ended with, and
// battery b's power and store (samples step apart). The gap between a row's
// mi_bits and this floor is what any hider with foresight and the same
// battery could still save at the same range and cost.
func FloorOf(demand []float64, step time.Duration, h Hidden, b energy.Battery, bins int) (float64, error) {
	if len(h.Metered) != len(demand) || len(demand) == 0 {
		return 0, fmt.Errorf("%w: run %q has %d samples, the demand %d", ErrOptions, h.Algorithm, len(h.Metered), len(demand))
	}
	var charged, discharged, energy float64
	for t, q := range h.Metered {
		charged += math.Max(0, q-demand[t])
		discharged += math.Max(0, demand[t]-q)
		energy += demand[t]
	}
	eta := b.RoundTripEfficiency
	budget := Budget{Efficiency: eta, PowerW: gridSidePowerW(b), Store: StoreOf(b, step)}
	if energy > 0 {
		budget.ExtraEnergyPct = 100 * (charged - discharged) / energy
		budget.DrawdownPct = 100 * math.Max(0, discharged-eta*charged) / energy
	}
	lo, hi := span(h.Metered)
	return MIFloor(demand, math.Max(lo, 0), hi, budget, bins)
}

// gridSidePowerW bounds |q − p| for battery b in watts: a charge at the
// cell's limit draws it divided by √η from the grid, the largest swing the
// meter can see.
func gridSidePowerW(b energy.Battery) float64 {
	return 1000 * max(b.MaxChargeKW, b.MaxDischargeKW) / energy.OneWayEfficiency(b.RoundTripEfficiency)
}

// span is the range [lo, hi] of xs, the range [MIFloor] takes for a run.
func span(xs []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

// AddFloors sets MIFloorBits on every row of rep from [FloorOf] its run,
// the runs in parallel (each takes a second or two), calling progress (if
// not nil; one call at a time) as each run starts.
func AddFloors(tr *household.Trace, rep *Report, b energy.Battery, bins int, progress func(algorithm string)) error {
	floors := make([]float64, len(rep.Runs))
	var mu sync.Mutex
	err := inParallel(len(rep.Runs), func(i int) (err error) {
		if progress != nil {
			mu.Lock()
			progress(rep.Runs[i].Algorithm)
			mu.Unlock()
		}
		floors[i], err = FloorOf(tr.Mains, tr.Step, rep.Runs[i], b, bins)
		return err
	})
	if err != nil {
		return err
	}
	byAlgorithm := make(map[string]float64, len(floors))
	for i, h := range rep.Runs {
		byAlgorithm[h.Algorithm] = floors[i]
	}
	for i := range rep.Rows {
		if f, ok := byAlgorithm[rep.Rows[i].Algorithm]; ok {
			rep.Rows[i].MIFloorBits = &f
		}
	}
	return nil
}

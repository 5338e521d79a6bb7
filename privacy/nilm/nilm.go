// Package nilm implements the attackers that measure the leakage
// C3.load-hiding defends against: non-intrusive load monitoring (NILM) run on
// the metered power p_i exactly as a utility, or anyone who reads the meter,
// would run it. Privacy in USaPP is a number an attacker achieves, never a
// claim, so these attackers are deliberately good at their job.
//
// # Model
//
// An [Attacker] sees only the metered series (W, mean power per step) and the
// step. It knows nothing of the household demand p, the battery or the
// per-appliance ground truth. It returns signed [Event] values: an appliance
// switching on (+) or off (−) at a sample index. Package metrics scores them
// against the ground truth.
//
// # Attackers
//
//   - "hart" ([Hart]): the event detector of G. W. Hart, "Nonintrusive
//     appliance load monitoring", Proc. IEEE 80(12), 1992: steady-state
//     segmentation, then signed steps between steady periods above a noise
//     floor. [Activations] adds Hart's on/off pairing and clustering into
//     appliance labels.
//   - "adaptive" ([Adaptive]): an attacker that knows a battery hides the
//     load. It flags each moment the metered load leaves a held level, where
//     Yang, Li, Xue, Zhang, "Minimizing private data disclosure in the smart
//     grid", ACM CCS 2012, showed best-effort and NILL leak, and adds the
//     events of the demand the hider follows whenever the battery cannot hold
//     the level (see its documentation).
//   - "co" ([CO]): supervised combinatorial optimisation over the top
//     appliances, trained by default on the embedded UK-DALE day.
//
// Default thresholds were tuned once, on the unhidden UK-DALE day (2-minute
// samples), and are the same for every hiding algorithm.
//
// # Invariants and concurrency
//
// Detect never panics, never modifies its input, and returns events sorted by
// index with at most one event per index; empty and length-1 traces give no
// events. Attackers are immutable values and safe for concurrent use.
package nilm

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// ErrUnknownAttacker is returned by [Lookup] for a name no attacker has.
var ErrUnknownAttacker = errors.New("nilm: unknown attacker")

// Event is a detected (or true) appliance switching: at sample Index the
// power changed by Delta watts, positive when something switched on.
type Event struct {
	Index int
	Delta float64
}

// Attacker turns a metered trace into events.
type Attacker interface {
	Name() string
	Detect(metered []float64, step time.Duration) []Event
}

var (
	_ Attacker = Hart{}
	_ Attacker = Adaptive{}
	_ Attacker = CO{}
)

// Attackers returns every attacker with its default thresholds, sorted by
// name.
func Attackers() []Attacker {
	all := []Attacker{DefaultAdaptive(), DefaultCO(), DefaultHart()}
	sort.Slice(all, func(i, j int) bool { return all[i].Name() < all[j].Name() })
	return all
}

// Names returns the names of Attackers(), in the same order.
func Names() []string {
	var names []string
	for _, a := range Attackers() {
		names = append(names, a.Name())
	}
	return names
}

// Lookup returns the attacker with the given name and default thresholds.
func Lookup(name string) (Attacker, error) {
	for _, a := range Attackers() {
		if a.Name() == name {
			return a, nil
		}
	}
	return nil, fmt.Errorf("%w %q; valid: %s", ErrUnknownAttacker, name, strings.Join(Names(), ", "))
}

// samples converts a duration to a whole number of samples, at least 1.
func samples(d, step time.Duration) int {
	if step <= 0 || d <= step {
		return 1
	}
	n := int((d + step - 1) / step)
	return n
}

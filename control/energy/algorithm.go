package energy

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// Algorithm is a load-hiding policy. Hide is causal: the decision at step t
// uses demand up to and including t, the battery's state and the price
// schedule (known a day ahead), never later demand. Every implementation
// drives the package's one battery simulator, so a Result always respects
// the battery's limits whatever the policy asks for.
type Algorithm interface {
	Name() string
	Hide(b Battery, r Run) (*Result, error)
}

var (
	_ Algorithm = BestEffort{}
	_ Algorithm = NILL{}
	_ Algorithm = Stepping{}
	_ Algorithm = Random{}
	_ Algorithm = USaPP{}
)

// Algorithms returns every algorithm with its default parameters, sorted by
// name: "best-effort", "nill", "random", "stepping", "usapp".
func Algorithms() []Algorithm {
	as := []Algorithm{BestEffort{}, NILL{}, Stepping{}, Random{}, USaPP{}}
	sort.Slice(as, func(i, j int) bool { return as[i].Name() < as[j].Name() })
	return as
}

// Names returns the names of Algorithms(), in the same order.
func Names() []string {
	var names []string
	for _, a := range Algorithms() {
		names = append(names, a.Name())
	}
	return names
}

// Lookup returns the algorithm with the given name and default parameters.
// An unknown name is an error wrapping ErrUnknownAlgorithm that lists the
// valid ones.
func Lookup(name string) (Algorithm, error) {
	for _, a := range Algorithms() {
		if a.Name() == name {
			return a, nil
		}
	}
	return nil, fmt.Errorf("%w %q; valid: %s", ErrUnknownAlgorithm, name, strings.Join(Names(), ", "))
}

// history gives algorithms causal views of the demand: means over trailing
// windows that end at the current step.
type history struct {
	prefix []float64 // prefix[i] = sum of demand[0:i], filled as steps arrive
}

func newHistory(n int) *history { return &history{prefix: make([]float64, 1, n+1)} }

// push records the demand of the step about to be decided.
func (h *history) push(p float64) { h.prefix = append(h.prefix, h.prefix[len(h.prefix)-1]+p) }

// mean is the mean of the last k pushed values (fewer if fewer were pushed).
func (h *history) mean(k int) float64 {
	n := len(h.prefix) - 1
	if k > n {
		k = n
	}
	if k <= 0 {
		return 0
	}
	return (h.prefix[n] - h.prefix[n-k]) / float64(k)
}

// slidingMedian is the median of the last k values pushed: a causal demand
// estimate that a short spike cannot move but a load lasting more than half
// the window does. It keeps the window sorted, so a push costs O(k).
type slidingMedian struct {
	k      int       // window length
	recent []float64 // the window in arrival order, a ring once k are held
	next   int       // where the next value goes once the ring is full
	sorted []float64 // the same values, ascending
}

func newSlidingMedian(k int) *slidingMedian {
	k = max(k, 1)
	return &slidingMedian{k: k, recent: make([]float64, 0, k), sorted: make([]float64, 0, k)}
}

// push adds p, dropping the oldest value once k are held. p must not be NaN
// (Run.Validate rejects such demand).
func (m *slidingMedian) push(p float64) {
	if len(m.recent) < m.k {
		m.recent = append(m.recent, p)
	} else {
		old := m.recent[m.next]
		m.recent[m.next] = p
		m.next = (m.next + 1) % m.k
		i, _ := slices.BinarySearch(m.sorted, old)
		m.sorted = slices.Delete(m.sorted, i, i+1)
	}
	i, _ := slices.BinarySearch(m.sorted, p)
	m.sorted = slices.Insert(m.sorted, i, p)
}

// reset forgets every value held.
func (m *slidingMedian) reset() {
	m.recent, m.sorted, m.next = m.recent[:0], m.sorted[:0], 0
}

// median of the values held: the middle one, or the mean of the two middle
// ones; 0 before the first push.
func (m *slidingMedian) median() float64 {
	n := len(m.sorted)
	switch {
	case n == 0:
		return 0
	case n%2 == 1:
		return m.sorted[n/2]
	}
	return (m.sorted[n/2-1] + m.sorted[n/2]) / 2
}

// settledMedian is a causal demand estimate that follows a new load without
// a window's lag: it restarts its median whenever demand steps by more than
// stepW, and trusts the new run once it has lasted settle steps. Until then
// it keeps the estimate it had, so a spike shorter than settle (a kettle)
// never moves it, while a long load (an oven) moves it settle steps after it
// starts and back settle steps after it ends. A trailing median of window k
// does the same only after k/2 steps at both ends, and the battery carries
// the whole load for that lag. Runs longer than k use the last k values,
// and a settle longer than k means k.
type settledMedian struct {
	med    *slidingMedian // the current run, its last k values
	stepW  float64
	settle int
	last   float64 // the previous value pushed
	est    float64
}

func newSettledMedian(k, settle int, stepW, first float64) *settledMedian {
	med := newSlidingMedian(k)
	return &settledMedian{med: med, stepW: stepW, settle: min(max(settle, 1), med.k), last: first, est: first}
}

// push adds the demand of the next step and returns the estimate.
func (m *settledMedian) push(p float64) float64 {
	if math.Abs(p-m.last) > m.stepW {
		m.med.reset()
	}
	m.last = p
	m.med.push(p)
	if len(m.med.recent) >= m.settle {
		m.est = m.med.median()
	}
	return m.est
}

// steps converts a duration to whole steps, at least one.
func steps(d, step time.Duration) int {
	k := int(math.Round(float64(d) / float64(step)))
	return max(k, 1)
}

// socTarget is where an algorithm steers the stored energy at step t (kWh):
// the middle of the SoC window, and with ReturnSoC a line from there to
// InitialSoC over the last part of the run (a quarter of it, at most four
// hours), so that the funnel in the simulator rarely has to act.
func (s *sim) socTarget(t int) float64 {
	mid := (s.minKWh + s.maxKWh) / 2
	return mid + s.returnFraction(t)*(s.initKWh-mid)
}

// returnFraction is how far along the ReturnSoC ramp step t is: 0 before it
// (or without ReturnSoC), 1 at the last step.
func (s *sim) returnFraction(t int) float64 {
	if !s.r.ReturnSoC {
		return 0
	}
	ramp := min(s.n()/4, steps(4*time.Hour, s.r.Step))
	start := s.n() - ramp
	if t < start || ramp == 0 {
		return 0
	}
	return math.Min(1, float64(t-start+1)/float64(ramp))
}

// correctionW is the steady grid power (W) that moves the stored energy from
// its current value to want over the given number of steps, ignoring losses:
// positive means the meter should draw more than demand (charge).
func (s *sim) correctionW(want float64, over int) float64 {
	return (want - s.soc) * JoulesPerKWh / (float64(max(over, 1)) * s.dt)
}

// quantise rounds w to the nearest multiple of q (q > 0), not below zero.
func quantise(w, q float64) float64 { return math.Max(0, math.Round(w/q)*q) }

package analysis

import (
	"cmp"
	"math"
	"math/bits"
	"slices"
	"time"

	"github.com/usapp/usapp/analysis/catalogue"
	"github.com/usapp/usapp/framework"
)

// CoverSet is one candidate of a weighted set cover: a control, its cost
// and the items (threat ids) it covers.
type CoverSet struct {
	ID     framework.ControlID
	Cost   int
	Covers []string
}

// SolveCover finds a least-cost subset of sets covering every coverable
// item. It runs Chvátal's greedy heuristic (cost per newly covered item;
// "A greedy heuristic for the set-covering problem", Math. Oper. Res. 4(3),
// 1979) and keeps its cost as MinimumSet.Greedy, then a depth-first
// branch-and-bound seeded with the greedy answer. The search branches on the
// uncovered item with the fewest candidate sets and prunes with the bound
// Σ_e min_{S∋e} cost(S)/|S ∩ uncovered|, which no cover can beat. When it
// finishes within limit the answer is Optimal with Gap 0; otherwise it
// returns the best cover found and Gap = (cost − root bound)/cost. Items no
// set covers are returned, sorted, and left out of the cover. Sets with
// non-positive cost are treated as cost 0 would be: free, so always taken
// by the search if useful.
func SolveCover(items []string, sets []CoverSet, limit time.Duration) (MinimumSet, []string) {
	p := newCoverProblem(items, sets)
	res := MinimumSet{Controls: []framework.ControlID{}, Optimal: true}
	if p.n == 0 {
		return res, p.uncovered
	}
	greedy := p.greedy()
	res.Greedy = p.costOf(greedy)
	best, optimal, rootLB := p.branchAndBound(greedy, limit)
	res.TotalCost = p.costOf(best)
	res.Optimal = optimal
	if !optimal && res.TotalCost > 0 {
		res.Gap = math.Max(0, (float64(res.TotalCost)-rootLB)/float64(res.TotalCost))
	}
	for _, i := range best {
		res.Controls = append(res.Controls, p.sets[i].id)
	}
	slices.Sort(res.Controls)
	return res, p.uncovered
}

type bitset []uint64

func newBitset(n int) bitset    { return make(bitset, (n+63)/64) }
func (b bitset) set(i int)      { b[i/64] |= 1 << (i % 64) }
func (b bitset) has(i int) bool { return b[i/64]&(1<<(i%64)) != 0 }
func (b bitset) andNotCount(o bitset) int { // |b \ o|
	n := 0
	for i := range b {
		n += bits.OnesCount64(b[i] &^ o[i])
	}
	return n
}
func (b bitset) subsetOf(o bitset) bool {
	for i := range b {
		if b[i]&^o[i] != 0 {
			return false
		}
	}
	return true
}

type coverSet struct {
	id    framework.ControlID
	cost  int
	cover bitset
	items []int
}

type coverProblem struct {
	n         int
	sets      []coverSet
	byItem    [][]int // sets covering each item
	uncovered []string
	full      bitset
}

func newCoverProblem(items []string, sets []CoverSet) *coverProblem {
	wanted := slices.Clone(items)
	slices.Sort(wanted)
	wanted = slices.Compact(wanted)
	coverable := map[string]bool{}
	for _, s := range sets {
		for _, it := range s.Covers {
			coverable[it] = true
		}
	}
	p := &coverProblem{}
	index := map[string]int{}
	for _, it := range wanted {
		if coverable[it] {
			index[it] = p.n
			p.n++
		} else {
			p.uncovered = append(p.uncovered, it)
		}
	}
	if p.uncovered == nil {
		p.uncovered = []string{}
	}
	p.full = newBitset(p.n)
	for i := 0; i < p.n; i++ {
		p.full.set(i)
	}
	var cands []coverSet
	for _, s := range sets {
		cs := coverSet{id: s.ID, cost: max(s.Cost, 0), cover: newBitset(p.n)}
		for _, it := range s.Covers {
			if i, ok := index[it]; ok && !cs.cover.has(i) {
				cs.cover.set(i)
				cs.items = append(cs.items, i)
			}
		}
		if len(cs.items) > 0 {
			cands = append(cands, cs)
		}
	}
	p.sets = dropDominated(cands)
	p.byItem = make([][]int, p.n)
	for si, s := range p.sets {
		for _, i := range s.items {
			p.byItem[i] = append(p.byItem[i], si)
		}
	}
	return p
}

// dropDominated removes a set when another covers at least the same items
// for no more cost; ties keep the smaller ID, so the result is stable.
func dropDominated(sets []coverSet) []coverSet {
	slices.SortFunc(sets, func(a, b coverSet) int {
		return cmp.Or(cmp.Compare(a.cost, b.cost), cmp.Compare(len(b.items), len(a.items)), cmp.Compare(a.id, b.id))
	})
	var out []coverSet
	for _, s := range sets {
		if !slices.ContainsFunc(out, func(k coverSet) bool { return s.cover.subsetOf(k.cover) }) {
			out = append(out, s)
		}
	}
	return out
}

func (p *coverProblem) costOf(chosen []int) int {
	c := 0
	for _, i := range chosen {
		c += p.sets[i].cost
	}
	return c
}

func (p *coverProblem) greedy() []int {
	covered := newBitset(p.n)
	var chosen []int
	for covered.andNotCount(newBitset(p.n)) < p.n {
		best, bestRatio, bestNew := -1, math.Inf(1), 0
		for si, s := range p.sets {
			k := s.cover.andNotCount(covered)
			if k == 0 {
				continue
			}
			r := float64(s.cost) / float64(k)
			if r < bestRatio || (r == bestRatio && k > bestNew) {
				best, bestRatio, bestNew = si, r, k
			}
		}
		chosen = append(chosen, best)
		for _, i := range p.sets[best].items {
			covered.set(i)
		}
	}
	return chosen
}

// search state of the branch and bound.
type bnb struct {
	p        *coverProblem
	covered  []int // per item: how many chosen sets cover it
	excluded []bool
	chosen   []int
	cost     int
	best     []int
	bestCost int
	nodes    int
	deadline time.Time
	aborted  bool
}

func (p *coverProblem) branchAndBound(seed []int, limit time.Duration) (best []int, optimal bool, rootLB float64) {
	s := &bnb{p: p, covered: make([]int, p.n), excluded: make([]bool, len(p.sets)),
		best: slices.Clone(seed), bestCost: p.costOf(seed), deadline: time.Now().Add(limit)}
	rootLB, _ = s.bound()
	s.dfs()
	return s.best, !s.aborted, rootLB
}

// bound is the fractional lower bound on the cost still needed, and the
// uncovered item with the fewest usable sets (−1 when all are covered).
func (s *bnb) bound() (float64, int) {
	p := s.p
	price := make([]float64, p.n)
	for i := range price {
		price[i] = math.Inf(1)
	}
	for si, set := range p.sets {
		if s.excluded[si] {
			continue
		}
		k := 0
		for _, i := range set.items {
			if s.covered[i] == 0 {
				k++
			}
		}
		if k == 0 {
			continue
		}
		r := float64(set.cost) / float64(k)
		for _, i := range set.items {
			if s.covered[i] == 0 && r < price[i] {
				price[i] = r
			}
		}
	}
	lb, pick, fewest := 0.0, -1, math.MaxInt
	for i := 0; i < p.n; i++ {
		if s.covered[i] > 0 {
			continue
		}
		lb += price[i] // +Inf when no usable set is left: infeasible
		usable := 0
		for _, si := range p.byItem[i] {
			if !s.excluded[si] {
				usable++
			}
		}
		if usable < fewest {
			pick, fewest = i, usable
		}
	}
	return lb, pick
}

func (s *bnb) dfs() {
	if s.aborted {
		return
	}
	if s.nodes++; (s.nodes == 1 || s.nodes&255 == 0) && time.Now().After(s.deadline) {
		s.aborted = true
		return
	}
	lb, pick := s.bound()
	if pick < 0 {
		if s.cost < s.bestCost {
			s.bestCost, s.best = s.cost, slices.Clone(s.chosen)
		}
		return
	}
	if float64(s.cost)+math.Ceil(lb-1e-9) >= float64(s.bestCost) {
		return
	}
	branches := s.branches(pick)
	for _, si := range branches {
		s.take(si, +1)
		s.dfs()
		s.take(si, -1)
		// Later branches need not consider si again: every cover using it
		// was explored in this branch.
		s.excluded[si] = true
	}
	for _, si := range branches {
		s.excluded[si] = false
	}
}

// branches orders the usable sets covering item by cost per newly covered
// item, so good covers are found early and prune more.
func (s *bnb) branches(item int) []int {
	var out []int
	ratio := map[int]float64{}
	for _, si := range s.p.byItem[item] {
		if s.excluded[si] {
			continue
		}
		k := 0
		for _, i := range s.p.sets[si].items {
			if s.covered[i] == 0 {
				k++
			}
		}
		out = append(out, si)
		ratio[si] = float64(s.p.sets[si].cost) / float64(k)
	}
	slices.SortFunc(out, func(a, b int) int { return cmp.Or(cmp.Compare(ratio[a], ratio[b]), cmp.Compare(a, b)) })
	return out
}

func (s *bnb) take(si, d int) {
	for _, i := range s.p.sets[si].items {
		s.covered[i] += d
	}
	if d > 0 {
		s.chosen = append(s.chosen, si)
		s.cost += s.p.sets[si].cost
	} else {
		s.chosen = s.chosen[:len(s.chosen)-1]
		s.cost -= s.p.sets[si].cost
	}
}

// minimumSet covers the open findings' threats with catalogue controls.
func minimumSet(c *catalogue.Catalogue, findings []Finding, limit time.Duration) (MinimumSet, []string) {
	var open []string
	for _, f := range findings {
		if f.Status == Open {
			open = append(open, f.Threat)
		}
	}
	return SolveCover(open, catalogueSets(c), limit)
}

func catalogueSets(c *catalogue.Catalogue) []CoverSet {
	ctls := c.Controls()
	out := make([]CoverSet, len(ctls))
	for i, x := range ctls {
		out[i] = CoverSet{ID: x.ID, Cost: x.Cost, Covers: x.Mitigates}
	}
	return out
}

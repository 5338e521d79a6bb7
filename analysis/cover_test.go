package analysis

import (
	"slices"
	"testing"
	"time"

	"github.com/usapp/usapp/framework"
)

// Greedy takes A (5 for 4 items, the best ratio) and then needs B and C
// anyway: 13. The optimum is B + C = 8.
func TestSolveCoverBeatsGreedy(t *testing.T) {
	sets := []CoverSet{
		{ID: "A1.a", Cost: 5, Covers: []string{"1", "2", "3", "4"}},
		{ID: "A1.b", Cost: 4, Covers: []string{"1", "2", "5"}},
		{ID: "A1.c", Cost: 4, Covers: []string{"3", "4", "6"}},
	}
	got, unc := SolveCover([]string{"1", "2", "3", "4", "5", "6"}, sets, time.Second)
	if got.Greedy != 13 || got.TotalCost != 8 || !got.Optimal || got.Gap != 0 {
		t.Fatalf("got %+v", got)
	}
	if !slices.Equal(got.Controls, []framework.ControlID{"A1.b", "A1.c"}) || len(unc) != 0 {
		t.Fatalf("controls %v uncovered %v", got.Controls, unc)
	}
}

func TestSolveCoverReportsUncoverable(t *testing.T) {
	sets := []CoverSet{
		{ID: "A1.a", Cost: 2, Covers: []string{"x"}},
		{ID: "A1.b", Cost: 3, Covers: []string{"x", "y"}},
		{ID: "A1.c", Cost: 1, Covers: []string{"y"}},
	}
	got, unc := SolveCover([]string{"y", "z", "x", "x"}, sets, time.Second)
	if !slices.Equal(unc, []string{"z"}) {
		t.Fatalf("uncovered %v", unc)
	}
	if got.TotalCost != 3 || !got.Optimal {
		t.Fatalf("got %+v", got)
	}
	// Cost 3 has two optima ({a,c} and {b}); either is right, but it must cover.
	cov := map[string]bool{}
	for _, id := range got.Controls {
		for _, s := range sets {
			if s.ID == id {
				for _, it := range s.Covers {
					cov[it] = true
				}
			}
		}
	}
	if !cov["x"] || !cov["y"] {
		t.Fatalf("%v does not cover x and y", got.Controls)
	}
}

func TestSolveCoverEmpty(t *testing.T) {
	got, unc := SolveCover(nil, nil, time.Second)
	if got.TotalCost != 0 || !got.Optimal || got.Controls == nil || len(unc) != 0 {
		t.Fatalf("got %+v %v", got, unc)
	}
}

// bruteForce is the reference: try every subset.
func bruteForce(items []string, sets []CoverSet) int {
	best := -1
	for mask := 0; mask < 1<<len(sets); mask++ {
		cov, cost := map[string]bool{}, 0
		for i, s := range sets {
			if mask&(1<<i) != 0 {
				cost += s.Cost
				for _, it := range s.Covers {
					cov[it] = true
				}
			}
		}
		ok := true
		for _, it := range items {
			ok = ok && cov[it]
		}
		if ok && (best < 0 || cost < best) {
			best = cost
		}
	}
	return best
}

func TestSolveCoverMatchesBruteForce(t *testing.T) {
	seed := uint64(7)
	next := func(n int) int { // xorshift: deterministic, no global state
		seed ^= seed << 13
		seed ^= seed >> 7
		seed ^= seed << 17
		return int(seed % uint64(n))
	}
	items := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"}
	for trial := range 200 {
		var sets []CoverSet
		for i := range 12 {
			s := CoverSet{ID: framework.ControlID("A1.s" + string(rune('a'+i))), Cost: 1 + next(10)}
			for range 1 + next(5) {
				s.Covers = append(s.Covers, items[next(len(items))])
			}
			sets = append(sets, s)
		}
		want := bruteForce(items, sets)
		got, unc := SolveCover(items, sets, time.Second)
		if want < 0 {
			if len(unc) == 0 {
				t.Fatalf("trial %d: infeasible instance reported no uncovered items", trial)
			}
			continue
		}
		if got.TotalCost != want || !got.Optimal {
			t.Fatalf("trial %d: got %d (optimal %v), brute force %d", trial, got.TotalCost, got.Optimal, want)
		}
	}
}

// With no time the search stops at once and must still return the greedy
// cover with an honest gap.
func TestSolveCoverTimeLimit(t *testing.T) {
	c := defaultCatalogue(t)
	var all []string
	for _, th := range c.Threats() {
		all = append(all, th.ID)
	}
	got, _ := SolveCover(all, catalogueSets(c), time.Nanosecond)
	if got.Optimal || got.TotalCost == 0 || got.TotalCost != got.Greedy {
		t.Fatalf("got %+v, want the unproved greedy cover", got)
	}
	if got.Gap <= 0 || got.Gap >= 1 {
		t.Fatalf("unproved result with gap %v", got.Gap)
	}
}

func BenchmarkMinimumSetCatalogue(b *testing.B) {
	c := defaultCatalogue(b)
	var all []string
	for _, th := range c.Threats() {
		all = append(all, th.ID)
	}
	sets := catalogueSets(c)
	var got MinimumSet
	for b.Loop() {
		got, _ = SolveCover(all, sets, time.Second)
	}
	opt := 0.0
	if got.Optimal {
		opt = 1
	}
	b.ReportMetric(float64(got.TotalCost), "cost")
	b.ReportMetric(float64(got.Greedy), "greedy-cost")
	b.ReportMetric(opt, "optimal")
	b.ReportMetric(got.Gap, "gap")
	b.ReportMetric(float64(len(all)), "threats")
}

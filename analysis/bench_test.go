package analysis

import (
	"fmt"
	"testing"
	"time"

	"github.com/usapp/usapp/analysis/model"
	"github.com/usapp/usapp/framework"
)

func BenchmarkAnalyzeEV(b *testing.B) {
	m, c := loadExample(b, "ev-charging.yaml"), defaultCatalogue(b)
	var r *Report
	for b.Loop() {
		var err error
		if r, err = Analyze(m, c, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/model")
	b.ReportMetric(float64(len(r.Findings)), "findings")
}

// generated builds a model of n components and f flows: homes of five
// devices each behind the NAN, head-ends, aggregators and vehicles, with
// protections that vary so every rule has work. Deterministic.
func generated(n, flows int) *model.Model {
	m := &model.Model{Meta: model.Meta{Name: "generated"}}
	kinds := []model.BoundaryKind{model.HomeBoundary, model.UtilityBoundary, model.ThirdPartyBoundary, model.VehicleBoundary, model.NetworkBoundary}
	types := []model.ComponentType{model.Meter, model.Gateway, model.HEMS, model.EVSE, model.Appliance, model.HeadEnd, model.EVAggregator, model.EV, model.Concentrator, model.DSO}
	for i := range n / 5 {
		id := fmt.Sprintf("tb%d", i)
		m.TrustBoundaries = append(m.TrustBoundaries, model.TrustBoundary{ID: id, Kind: kinds[i%len(kinds)]})
		m.Stakeholders = append(m.Stakeholders, model.Stakeholder{ID: fmt.Sprintf("s%d", i)})
	}
	for i := range n {
		m.Components = append(m.Components, model.Component{
			ID: fmt.Sprintf("c%d", i), Type: types[i%len(types)], Owner: fmt.Sprintf("s%d", (i/5)%(n/5)),
			Domain: framework.Domains[i%len(framework.Domains)], Category: framework.Categories[i%2], Layer: framework.Layers[i%len(framework.Layers)],
			TrustBoundary: fmt.Sprintf("tb%d", i/5),
		})
	}
	seed := uint64(42)
	next := func(k int) int {
		seed ^= seed << 13
		seed ^= seed >> 7
		seed ^= seed << 17
		return int(seed % uint64(k))
	}
	encs := []model.Encryption{model.EndToEnd, model.Hop, model.NoEnc}
	for i := range flows {
		from, to := next(n), next(n)
		if to == from {
			to = (to + 1) % n
		}
		d := model.Datum{Category: framework.DataCategories[next(3)], Kind: model.DataKinds[next(len(model.DataKinds))],
			Frequency: model.Duration(time.Duration(next(3)) * 30 * time.Second), Attributable: next(2) == 0}
		f := model.Flow{ID: fmt.Sprintf("f%d", i), From: fmt.Sprintf("c%d", from), To: fmt.Sprintf("c%d", to), Data: []model.Datum{d},
			Protection: model.Protection{Authenticated: next(2) == 0, Integrity: next(2) == 0, ReplayProtected: next(2) == 0, Encrypted: encs[next(3)]}}
		if next(3) == 0 {
			f.Via = []string{fmt.Sprintf("c%d", next(n))}
		}
		m.Flows = append(m.Flows, f)
	}
	for i := 0; i < n; i += 7 {
		m.Controls = append(m.Controls, model.Control{ID: "B1.keys-at-rest", At: fmt.Sprintf("c%d", i)})
	}
	m.Reindex()
	return m
}

func BenchmarkAnalyzeGenerated(b *testing.B) {
	m, c := generated(1000, 5000), defaultCatalogue(b)
	var r *Report
	for b.Loop() {
		var err error
		if r, err = Analyze(m, c, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/model")
	b.ReportMetric(float64(len(r.Findings)), "findings")
	b.ReportMetric(float64(len(r.Cascade)), "cascade-entries")
	if !r.MinimumSet.Optimal {
		b.ReportMetric(r.MinimumSet.Gap, "gap")
	}
}

// The generated model is also a correctness check: the analysis completes
// and every open threat is covered or reported uncovered.
func TestAnalyzeGenerated(t *testing.T) {
	m, c := generated(200, 1000), defaultCatalogue(t)
	r, err := Analyze(m, c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) == 0 || len(r.Cascade) == 0 {
		t.Fatal("no findings or cascade on a generated model")
	}
	checkMinimumSetCovers(t, c, r)
}

package report

import (
	"io"
	"testing"
)

// BenchmarkHTML measures a full page with its three figures for the small
// test model; reports are rendered once per analysis, so this only guards
// against accidental blow-ups in the layout code.
func BenchmarkHTML(b *testing.B) {
	rep, m, c := testReport(), testModel(), defaultCatalogue(b)
	for b.Loop() {
		if err := HTML(io.Discard, rep, m, c); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pages/s")
}

package ledger_test

import (
	"testing"

	"github.com/usapp/usapp/computing/ledger"
)

// BenchmarkAppendProve measures one head-end batch: prepare and commit 256
// records, sign one checkpoint, and produce 256 receipts (inclusion proofs).
func BenchmarkAppendProve(b *testing.B) {
	const batch = 256
	k := testKeys(b, 1)
	l := ledger.New(origin, k.signer)
	recs := records(batch)
	b.ResetTimer()
	for b.Loop() {
		p, err := l.Prepare(recs)
		if err != nil {
			b.Fatal(err)
		}
		if err := l.Commit(p); err != nil {
			b.Fatal(err)
		}
		if _, err := l.Receipts(p.Start, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(l.Size()), "log-records")
}

// BenchmarkVerifyReceipt measures the gateway side: one receipt check.
func BenchmarkVerifyReceipt(b *testing.B) {
	k := testKeys(b, 1)
	l := ledger.New(origin, k.signer)
	recs := records(1 << 12)
	appendAll(b, l, recs, 256)
	rs, _ := l.Receipts(0, int64(len(recs)))
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, err := ledger.VerifyReceipt(k.verifier, origin, recs[i], rs[i]); err != nil {
			b.Fatal(err)
		}
		i = (i + 1) % len(recs)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "receipts/s")
}

package ledger_test

import (
	"errors"
	"testing"

	"github.com/usapp/usapp/computing/ledger"
	"golang.org/x/mod/sumdb/tlog"
	"pgregory.net/rapid"
)

// TestPropertyAppendProve: random appends in random batches, then every
// inclusion proof verifies at every size, consistency holds between any two
// sizes, and the witness accepts the whole history.
func TestPropertyAppendProve(t *testing.T) {
	k := testKeys(t, 1)
	rapid.Check(t, func(rt *rapid.T) {
		batches := rapid.SliceOfN(rapid.IntRange(0, 9), 1, 8).Draw(rt, "batches")
		l := ledger.New(origin, k.signer)
		w := ledger.NewWitness(k.verifier, origin)
		var recs [][]byte
		sizes := []int64{0}
		for _, b := range batches {
			batch := make([][]byte, b)
			for i := range batch {
				batch[i] = rapid.SliceOfN(rapid.Byte(), 0, 24).Draw(rt, "record")
			}
			p, err := l.Prepare(batch)
			if err != nil {
				rt.Fatal(err)
			}
			if rapid.Bool().Draw(rt, "abort-first") {
				l.Abort(p)
				if p, err = l.Prepare(batch); err != nil {
					rt.Fatal(err)
				}
			}
			if err := l.Commit(p); err != nil {
				rt.Fatal(err)
			}
			recs = append(recs, batch...)
			n := l.Size()
			proof, err := l.ProveConsistency(sizes[len(sizes)-1], n)
			if err != nil {
				rt.Fatal(err)
			}
			cp, err := l.Checkpoint()
			if err != nil {
				rt.Fatal(err)
			}
			if _, err := w.ObserveNote(cp, proof); err != nil {
				rt.Fatalf("witness at %d: %v", n, err)
			}
			sizes = append(sizes, n)
		}
		n := l.Size()
		if n != int64(len(recs)) {
			rt.Fatalf("size %d, want %d", n, len(recs))
		}
		roots := make([]tlog.Hash, n+1)
		for s := range roots {
			roots[s], _ = l.Root(int64(s))
		}
		if roots[n] != mth(recs) {
			rt.Fatal("root differs from RFC 6962 definition")
		}
		for s := int64(1); s <= n; s++ {
			for i := range s {
				p, err := l.Prove(i, s)
				if err != nil {
					rt.Fatal(err)
				}
				if err := tlog.CheckRecord(p, s, roots[s], i, ledger.RecordHash(recs[i])); err != nil {
					rt.Fatalf("record %d in %d: %v", i, s, err)
				}
			}
			for old := int64(1); old <= s; old++ {
				p, err := l.ProveConsistency(old, s)
				if err != nil {
					rt.Fatal(err)
				}
				if err := tlog.CheckTree(p, s, roots[s], old, roots[old]); err != nil {
					rt.Fatalf("consistency %d->%d: %v", old, s, err)
				}
			}
		}
		if _, err := l.Prove(n, n+1); !errors.Is(err, ledger.ErrRange) {
			rt.Fatalf("proof past the end: %v", err)
		}
	})
}

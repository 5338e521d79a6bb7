package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
	"pgregory.net/rapid"
)

func TestMultiRowChunks(t *testing.T) {
	for _, m := range []multiRow{sqliteInsertReadingsSQL, sqliteInsertHashesSQL, sqliteLookupSQL} {
		sizes := map[int]bool{}
		for n := 1; n <= 3*m.maxRows+7; n++ {
			left := n
			for left > 0 {
				c := m.chunk(left)
				if c <= 0 || c > left || c > m.maxRows || c&(c-1) != 0 && c != m.maxRows {
					t.Fatalf("%s: chunk(%d) = %d", m.name, left, c)
				}
				sizes[c] = true
				left -= c
			}
		}
		// Every size is prepared once per Store: keep the family small.
		if len(sizes) > 10 {
			t.Fatalf("%s: %d statement sizes in use", m.name, len(sizes))
		}
	}
}

// TestModel drives each backend with random batches (fresh, duplicate,
// repeated within the batch, gapped hashes, with and without a checkpoint)
// and compares it after every step with an in-memory model of the
// contract. The store persists across rapid's cases; so does the model.
func TestModel(t *testing.T) {
	backends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		s := be.open(t)
		stored := map[Key]Reading{}
		var order []Key // stored keys in commit order, for deterministic draws
		var ledger []tlog.Hash
		var cpSize int64 = -1
		var cpNote []byte
		step := 0
		rapid.Check(t, func(rt *rapid.T) {
			step++
			n := rapid.IntRange(0, 40).Draw(rt, "readings")
			var b Batch
			for i := range n {
				meter := rapid.SampledFrom([]string{"a", "b", "Ω", "a-1"}).Draw(rt, "meter")
				r := reading(meter, uint64(step*100+i))
				r.EnergyWh = int64(step*1000 + i) // tells apart two writes of one key
				b.Readings = append(b.Readings, r)
			}
			switch kind := rapid.SampledFrom([]string{"fresh", "fresh", "fresh", "fresh", "stored", "repeat"}).Draw(rt, "kind"); {
			case kind == "stored" && n > 0 && len(order) > 0:
				k := order[rapid.IntRange(0, len(order)-1).Draw(rt, "stored key")]
				b.Readings[rapid.IntRange(0, n-1).Draw(rt, "at")] = reading(k.Meter, k.Counter)
			case kind == "repeat" && n > 1:
				b.Readings[n-1] = b.Readings[rapid.IntRange(0, n-2).Draw(rt, "repeat of")]
			}
			h := rapid.IntRange(0, 5).Draw(rt, "hashes")
			b.HashStart = int64(len(ledger)) + int64(rapid.SampledFrom([]int{0, 0, 0, -1, 1}).Draw(rt, "gap"))
			b.Hashes = hashes(int(b.HashStart)+1000*step, h)
			if rapid.Bool().Draw(rt, "checkpoint") {
				b.Checkpoint = []byte(fmt.Sprint("cp", step))
				b.CheckpointSize = int64(step)
			}

			want := error(nil)
			seen := map[Key]bool{}
			for _, r := range b.Readings {
				if _, dup := stored[r.Key()]; dup || seen[r.Key()] {
					want = ErrDuplicate
				}
				seen[r.Key()] = true
			}
			if h > 0 && b.HashStart != int64(len(ledger)) {
				want = ErrLedgerGap
			}
			err := s.Commit(ctx, b)
			switch {
			case want == nil && err != nil:
				rt.Fatalf("Commit: %v, want success", err)
			case want != nil && !errors.Is(err, want):
				// Both a gap and a duplicate: either report is right.
				if !errors.Is(err, ErrDuplicate) && !errors.Is(err, ErrLedgerGap) {
					rt.Fatalf("Commit: %v, want %v", err, want)
				}
			}
			if err == nil {
				for _, r := range b.Readings {
					stored[r.Key()] = r
					order = append(order, r.Key())
				}
				ledger = append(ledger, b.Hashes...)
				if b.Checkpoint != nil {
					cpSize, cpNote = b.CheckpointSize, b.Checkpoint
				}
			}

			if got, _ := s.CountReadings(ctx); got != int64(len(stored)) {
				rt.Fatalf("CountReadings = %d, model %d", got, len(stored))
			}
			keys := make([]Key, 0, len(b.Readings))
			for _, r := range b.Readings {
				keys = append(keys, r.Key())
			}
			found, err := s.Lookup(ctx, keys)
			if err != nil {
				rt.Fatal(err)
			}
			for _, k := range keys {
				w, ok := stored[k]
				g, gok := found[k]
				if ok != gok || ok && !equalReading(g, w) {
					rt.Fatalf("Lookup(%v) = %v %+v, model %v %+v", k, gok, g, ok, w)
				}
			}
			hs, err := s.LedgerHashes(ctx)
			if err != nil || !reflect.DeepEqual(hs, ledger) && len(ledger)+len(hs) > 0 {
				rt.Fatalf("LedgerHashes: %d hashes, %v; model %d", len(hs), err, len(ledger))
			}
			size, note, err := s.LatestCheckpoint(ctx)
			if cpSize < 0 && !errors.Is(err, ErrNotFound) || cpSize >= 0 && (size != cpSize || string(note) != string(cpNote)) {
				rt.Fatalf("LatestCheckpoint = %d %q %v; model %d %q", size, note, err, cpSize, cpNote)
			}
		})
		// Guard the generator: the run must have exercised accepted batches.
		if len(stored) < 50 || len(ledger) == 0 {
			t.Fatalf("only %d readings and %d hashes accepted: the generator rejects nearly everything", len(stored), len(ledger))
		}
		t.Logf("%d steps, model holds %d readings, %d hashes", step, len(stored), len(ledger))
	})
}

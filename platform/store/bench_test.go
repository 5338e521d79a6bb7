package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/usapp/usapp/platform/store/pgtest"
)

// benchBackends runs a benchmark on both backends in one run, so that their
// numbers compare on the same machine and load.
func benchBackends(b *testing.B, fn func(b *testing.B, s *Store)) {
	b.Run(dialectSQLite, func(b *testing.B) {
		fn(b, backend{dialectSQLite, filepath.Join(b.TempDir(), "store.db")}.open(b))
	})
	b.Run(dialectPostgres, func(b *testing.B) {
		fn(b, backend{dialectPostgres, pgtest.Start(b)}.open(b))
	})
}

// benchBatch is a head-end batch: 256 readings with ~200-byte records and
// the two stored hashes per record a tlog tree adds on average.
func benchBatch(i int, hashStart int64) Batch {
	const n = 256
	rs := make([]Reading, n)
	for j := range rs {
		r := reading(fmt.Sprintf("meter-%06d", (i*n+j)%100000), uint64(i*n+j))
		r.Record = append(r.Record, make([]byte, 200-len(r.Record))...)
		rs[j] = r
	}
	return Batch{Readings: rs, HashStart: hashStart, Hashes: hashes(int(hashStart), 2*n),
		Checkpoint:     []byte("checkpoint note of about a hundred bytes, signed by the head-end's ledger key ....."),
		CheckpointSize: int64((i + 1) * n)}
}

// BenchmarkCommit reports committed readings per second, batches of 256.
func BenchmarkCommit(b *testing.B) {
	benchBackends(b, func(b *testing.B, s *Store) {
		ctx := context.Background()
		batches := make([]Batch, b.N)
		for i := range batches {
			batches[i] = benchBatch(i, int64(i*512))
		}
		b.ResetTimer()
		start := time.Now()
		for i := range batches {
			if err := s.Commit(ctx, batches[i]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*256)/time.Since(start).Seconds(), "readings/s")
	})
}

// BenchmarkLookup reports the time to look up 256 keys, half of them stored,
// in a store of 64k readings.
func BenchmarkLookup(b *testing.B) {
	benchBackends(b, func(b *testing.B, s *Store) {
		ctx := context.Background()
		for i := range 256 {
			if err := s.Commit(ctx, benchBatch(i, int64(i*512))); err != nil {
				b.Fatal(err)
			}
		}
		keys := make([]Key, 256)
		b.ResetTimer()
		for i := range b.N {
			for j := range keys {
				keys[j] = Key{fmt.Sprintf("meter-%06d", (i*997+j*2)%100000), uint64((i*997 + j*2) % (256 * 256 * 2))}
			}
			if _, err := s.Lookup(ctx, keys); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*256)/b.Elapsed().Seconds(), "keys/s")
	})
}

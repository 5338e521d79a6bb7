package spool_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/usapp/usapp/computing/spool"
)

// BenchmarkPut measures durable rows/s with 1 and 64 concurrent putters,
// with group commit and with one transaction (one fsync) per row. rows/commit
// shows how well requests coalesce, independent of the disk's fsync latency,
// and fsync-µs is the same disk's raw write+fsync latency measured in this run.
func BenchmarkPut(b *testing.B) {
	modes := []struct {
		name string
		open func(string) (*spool.Spool, error)
	}{
		{"group", func(p string) (*spool.Spool, error) { return spool.Open(p, nil) }},
		{"per-row", func(p string) (*spool.Spool, error) { return spool.OpenPerRow(p, nil) }},
	}
	sealed := make([]byte, 256)
	record := make([]byte, 64)
	for _, m := range modes {
		for _, putters := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/putters=%d", m.name, putters), func(b *testing.B) {
				s, err := m.open(filepath.Join(b.TempDir(), "spool.db"))
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				var next atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				for p := range putters {
					wg.Go(func() {
						gw := fmt.Sprintf("gw%02d", p)
						for {
							i := next.Add(1) - 1
							if i >= int64(b.N) {
								return
							}
							e := spool.Entry{Gateway: gw, Meter: "m", Counter: uint64(i), Sealed: sealed, Record: record}
							if err := s.Put(context.Background(), e); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
				groups, rows := s.Groups()
				b.ReportMetric(float64(rows)/float64(groups), "rows/commit")
				b.ReportMetric(fsyncMicros(b), "fsync-µs")
			})
		}
	}
}

// fsyncMicros measures a 4 KiB append plus fsync in the benchmark's temp dir.
func fsyncMicros(b *testing.B) float64 {
	f, err := os.Create(filepath.Join(b.TempDir(), "fsync"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	const n = 20
	start := time.Now()
	for range n {
		f.Write(buf)
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	return float64(time.Since(start).Microseconds()) / n
}

package bus_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/usapp/usapp/platform/bus"
	"github.com/usapp/usapp/platform/bus/bustest"
)

// BenchmarkPublishDurable measures the bus ceiling for acknowledged readings
// with SyncAlways on: every acknowledgement waited for an fsync. Each
// publisher is its own meter connection publishing one reading at a time,
// as a gateway draining its spool does.
func BenchmarkPublishDurable(b *testing.B) {
	payload := make([]byte, 256) // about one sealed 30-minute register
	for _, publishers := range []int{1, 32} {
		b.Run(fmt.Sprintf("publishers=%d", publishers), func(b *testing.B) {
			_, ca := bustest.Run(b)
			conns := make([]*bus.Conn, publishers)
			ids := make([]bus.Identity, publishers)
			for i := range conns {
				conns[i], ids[i] = client(b, ca, bus.RoleMeter)
			}
			var next atomic.Int64
			var failed atomic.Value
			b.SetBytes(int64(len(payload)))
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for i := range conns {
				wg.Go(func() {
					for {
						n := next.Add(1)
						if n > int64(b.N) {
							return
						}
						ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
						err := bus.PublishReading(ctx, conns[i], ids[i].LFDI, fmt.Sprint(n), payload)
						cancel()
						if err != nil {
							failed.Store(err)
							return
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			if err, _ := failed.Load().(error); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
		})
	}
}

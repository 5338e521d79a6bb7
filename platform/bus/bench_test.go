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

// BenchmarkReverify measures one pass of Server.Reverify, what the bus does
// after each change of the revoked set: list the open connections and check
// each certificate again. "meters" are distinct meters, one connection
// each; the verifier is bustest's, which runs x509's full chain verification
// (an ECDSA signature) every time, where comms/pki's caches the root's
// signature per certificate. "one certificate" is as many connections of one
// identity, checked once per pass: the cost of listing alone.
func BenchmarkReverify(b *testing.B) {
	for _, shared := range []bool{false, true} {
		for _, n := range []int{100, 1000} {
			name := fmt.Sprintf("meters=%d", n)
			if shared {
				name = fmt.Sprintf("one_certificate=%d", n)
			}
			b.Run(name, func(b *testing.B) { benchReverify(b, n, shared) })
		}
	}
}

func benchReverify(b *testing.B, n int, shared bool) {
	ca := bustest.NewCA(b)
	cfg := ca.ServerConfig(b)
	cfg.ReverifyEvery = -1
	srv := ca.Start(b, cfg)
	one, _ := ca.Client(b, bus.RoleMeter)
	for range n {
		if shared {
			connect(b, one)
		} else {
			client(b, ca, bus.RoleMeter)
		}
	}
	checks := ca.Checks()
	bustest.BenchReverify(b, srv, n)
	b.ReportMetric(float64(ca.Checks()-checks)/float64(b.N), "checks/pass")
}

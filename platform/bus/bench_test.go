package bus_test

import (
	"context"
	"fmt"
	"runtime"
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

// BenchmarkAdmission measures what a device's connection costs the bus to
// admit (TLS handshake, CONNECT, PING/PONG, then closed), with as many
// devices connecting at once (client and server share the machine's
// cores), as a fleet reconnecting after a restart asks: on the embedded
// server (its authenticator), on an external server through the head-end's
// Callout (a request over the bus, a verification and two Ed25519-signed
// JWTs), and on an external server that checks the chain only (the floor).
// The verifier is bustest's, an ECDSA verification per admission.
func BenchmarkAdmission(b *testing.B) {
	for _, bench := range []struct {
		name  string
		start func(b *testing.B) *bustest.TestCA
	}{
		{"embedded", func(b *testing.B) *bustest.TestCA { _, ca := bustest.Run(b); return ca }},
		{"external_callout", func(b *testing.B) *bustest.TestCA { return startCalloutBus(b).ca }},
		{"external_chain_only", func(b *testing.B) *bustest.TestCA {
			ca := bustest.NewCA(b)
			ca.SetURL(ca.StartExternal(b, bustest.ExternalConfig{}).URL)
			return ca
		}},
	} {
		for _, parallel := range []int{1, 32} {
			b.Run(fmt.Sprintf("%s/devices=%d", bench.name, parallel*runtime.GOMAXPROCS(0)), func(b *testing.B) {
				cfg, _ := bench.start(b).Client(b, bus.RoleMeter)
				cfg.Log = bustest.Logger(b)
				b.SetParallelism(parallel)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						c, err := bus.Connect(ctxFor(b, 10*time.Second), cfg)
						if err != nil {
							b.Error(err)
							return
						}
						c.Close()
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "connects/s")
			})
		}
	}
}

// BenchmarkEvictorSweep measures one sweep of an external server with
// nothing revoked: find the servers, list every connection with its
// certificate (1,024 a page), close none. The head-end sweeps once at start
// and then only once something is revoked.
func BenchmarkEvictorSweep(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("meters=%d", n), func(b *testing.B) {
			ca := bustest.NewCA(b)
			ext := ca.StartExternal(b, bustest.ExternalConfig{})
			ca.SetURL(ext.URL)
			for range n {
				client(b, ca, bus.RoleMeter)
			}
			sys := dialService(b, ca, ext.URL, ext.SeedFile, "evictor")
			ev, err := bus.NewEvictor(bus.EvictorConfig{Conn: sys, Revoked: func(string) bool { return false }, Log: bustest.Logger(b)})
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := ev.Sweep(ctxFor(b, 30*time.Second)); err != nil {
					b.Fatal(err)
				}
			}
			perSweep := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(perSweep*1e3, "ms/sweep")
			b.ReportMetric(float64(n)/perSweep, "connections/s")
		})
	}
}

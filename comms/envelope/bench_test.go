package envelope

import (
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// benchBody is about the size of a 30-minute register reading with its
// metadata.
var benchBody = []byte(`{"import_wh":125034,"export_wh":2011,"interval_s":1800,"q":0}`)

// BenchmarkOpenBatch compares, in one run, how many messages per second the
// head-end can open:
//   - batch: OpenBatch, sessions cached (the design);
//   - single: Open per message, spread over GOMAXPROCS goroutines;
//   - kem-per-message: OpenBatch, but every message has its own HPKE session
//     (the alternative design without sessions);
//   - plain: protection off (EncodePlain), the baseline.
func BenchmarkOpenBatch(b *testing.B) {
	f := newFixture(b, 64)
	const gateways = 16
	for _, n := range []int{64, 512} {
		sessions := make([]*Session, gateways)
		for i := range sessions {
			var err error
			if sessions[i], err = NewSession(f.recipient.PublicKey(), fmt.Sprintf("gateway-%02d", i)); err != nil {
				b.Fatal(err)
			}
		}
		sealed := make([][]byte, n)
		perMsgKEM := make([][]byte, n)
		plain := make([][]byte, n)
		for i := range n {
			signed := f.sign(b, i%64, uint64(i), benchBody)
			var err error
			if sealed[i], err = sessions[i%gateways].Seal(signed); err != nil {
				b.Fatal(err)
			}
			own, err := NewSession(f.recipient.PublicKey(), "gateway-00")
			if err != nil {
				b.Fatal(err)
			}
			if perMsgKEM[i], err = own.Seal(signed); err != nil {
				b.Fatal(err)
			}
			if plain[i], err = EncodePlain("gateway-00", f.header(i%64, uint64(i)), benchBody); err != nil {
				b.Fatal(err)
			}
		}
		plainOpener, err := NewOpener(OpenerConfig{})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("batch/n=%d", n), func(b *testing.B) {
			runOpen(b, sealed, func() []Result { return f.opener.OpenBatch(sealed, testNow) })
		})
		b.Run(fmt.Sprintf("single/n=%d", n), func(b *testing.B) {
			runOpen(b, sealed, func() []Result { return openEach(f.opener, sealed) })
		})
		b.Run(fmt.Sprintf("kem-per-message/n=%d", n), func(b *testing.B) {
			runOpen(b, perMsgKEM, func() []Result {
				// A fresh cache each round: in this design no context is
				// ever reused, so none may be found cached.
				o, err := NewOpener(OpenerConfig{Key: f.recipient, Keys: f.dir})
				if err != nil {
					b.Fatal(err)
				}
				return o.OpenBatch(perMsgKEM, testNow)
			})
		})
		b.Run(fmt.Sprintf("plain/n=%d", n), func(b *testing.B) {
			runOpen(b, plain, func() []Result { return plainOpener.OpenBatch(plain, testNow) })
		})
	}
}

// runOpen reports wall-clock throughput (msgs/s) and, because a shared
// machine's other load distorts wall time, the process CPU time per message
// (cpu-µs/msg) and the rate two fully available cores would reach with it
// (msgs/s@2cpu).
func runOpen(b *testing.B, msgs [][]byte, open func() []Result) {
	b.ReportAllocs()
	start, cpu0 := time.Now(), cpuTime(b)
	for b.Loop() {
		for _, r := range open() {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
		}
	}
	total := float64(b.N * len(msgs))
	cpuUS := (cpuTime(b) - cpu0).Seconds() * 1e6 / total
	b.ReportMetric(total/time.Since(start).Seconds(), "msgs/s")
	b.ReportMetric(cpuUS, "cpu-µs/msg")
	b.ReportMetric(2e6/cpuUS, "msgs/s@2cpu")
	b.ReportMetric(0, "ns/op")
}

// cpuTime is the CPU time used so far by this process, all threads.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// openEach is the single-verification alternative with the same
// parallelism as OpenBatch.
func openEach(o *Opener, msgs [][]byte) []Result {
	out := make([]Result, len(msgs))
	workers := runtime.GOMAXPROCS(0)
	size := (len(msgs) + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < len(msgs); lo += size {
		hi := min(lo+size, len(msgs))
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				m, err := o.Open(msgs[i], testNow)
				out[i] = Result{Msg: m, Err: err}
			}
		})
	}
	wg.Wait()
	return out
}

// BenchmarkSeal measures the gateway side: one exporter call and one
// AES-GCM seal per message.
func BenchmarkSeal(b *testing.B) {
	f := newFixture(b, 1)
	signed := f.sign(b, 0, 1, benchBody)
	start := time.Now()
	for b.Loop() {
		if _, err := f.session.Seal(signed); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

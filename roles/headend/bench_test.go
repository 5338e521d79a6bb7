package headend

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/usapp/usapp/comms/envelope"
	"github.com/usapp/usapp/computing/feedback"
	"github.com/usapp/usapp/metering"
	"github.com/usapp/usapp/sim/clock"
)

// BenchmarkIngest measures the head-end's ingest path — open, verify,
// deduplicate, store (SQLite, synchronous=FULL), log and prove — through the
// same two-stage Pipeline the bus consumer runs, fed from memory so that the
// bus is not measured here (see platform/bus BenchmarkPublishDurable).
// "secure" is the real path; "plain" is the same pipeline with envelope
// protection off (no signatures, no encryption, no binding check). Each
// iteration starts from an empty database, with the senders' certificates
// already verified, as in a running head-end.
func BenchmarkIngest(b *testing.B) {
	const homes, perHome, batch = 256, 48, DefaultBatch
	for _, mode := range []string{"secure", "plain"} {
		b.Run(mode, func(b *testing.B) {
			f := newFixture(b, "")
			f.plain, f.warm = mode == "plain", true
			corpus := benchCorpus(b, f, homes, perHome, batch)
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				f.dsn = filepath.Join(b.TempDir(), "bench.db")
				f.start()
				in := make(chan []Inbound, len(corpus))
				for _, c := range corpus {
					in <- c
				}
				close(in)
				b.StartTimer()
				var stored int
				err := Pipeline(context.Background(), f.ing, in, func(x Inbound) Inbound { return x }, clock.Clock(f.clk),
					func(_ []Inbound, fb map[string]*feedback.Message) {
						for _, m := range fb {
							stored += len(m.Items)
						}
					})
				if err != nil || stored != homes*perHome {
					b.Fatalf("iteration %d: stored %d of %d: %v", i, stored, homes*perHome, err)
				}
			}
			b.ReportMetric(float64(homes*perHome*b.N)/b.Elapsed().Seconds(), "readings/s")
		})
	}
}

// benchCorpus seals a day of readings for many homes, in bus-sized batches
// that interleave homes as the bus does.
func benchCorpus(b *testing.B, f *fixture, homes, perHome, batch int) [][]Inbound {
	hs := make([]*testHome, homes)
	for i := range hs {
		hs[i] = f.home("h")
	}
	var all []Inbound
	for range perHome {
		for _, h := range hs {
			in, r := h.reading()
			if f.plain {
				body, err := r.Register.Marshal()
				if err != nil {
					b.Fatal(err)
				}
				in.Data, err = envelope.EncodePlain(h.gw, envelope.Header{V: 1, Kind: metering.Kind, Sender: r.Register.Meter,
					Counter: r.Counter, Time: f.clk.Now().UnixMilli()}, body)
				if err != nil {
					b.Fatal(err)
				}
			}
			all = append(all, in)
		}
	}
	var out [][]Inbound
	for len(all) > 0 {
		n := min(batch, len(all))
		out = append(out, all[:n])
		all = all[n:]
	}
	return out
}

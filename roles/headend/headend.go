// Package headend is the utility's head-end role: it receives the sealed
// readings of every home from the bus, verifies them, drops replays and
// duplicates, stores them, logs each accepted reading in a transparency log,
// answers every home with a signed receipt, and bills under a time-of-use
// tariff.
//
// Controls: A1.signed-messages and A1.replay-protection (verification and
// idempotent deduplication on meter + counter), A2.end-to-end-encryption (the
// recipient side of the HPKE sessions), B3.integrity-feedback (the
// transparency log and its receipts).
//
// # Exactly once
//
// A reading is identified by (meter, counter). The store holds that key
// uniquely, the log hashes are written in the same transaction as the
// readings, and the bus messages are acknowledged only after that transaction
// commits. A crash at any point therefore either loses nothing (the bus
// redelivers) or redelivers what was stored (the store answers "duplicate"
// with the stored copy's receipt). Bills are computed from the stored
// readings, so each reading is billed once.
package headend

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/usapp/usapp/billing"
	"github.com/usapp/usapp/computing/feedback"
	"github.com/usapp/usapp/framework"
	"github.com/usapp/usapp/platform/bus"
	"github.com/usapp/usapp/platform/store"
	"github.com/usapp/usapp/sim/clock"
)

// Header names on bus messages (a public contract).
const (
	// HeaderKnownSize carries the log size of the last checkpoint the
	// publishing gateway verified, so the answer can hold a consistency proof.
	HeaderKnownSize = "Usapp-Known-Size"
	// HeaderReading names the reading a message claims to hold, as
	// "<meter>.<counter>". It is not authenticated: the head-end uses it only
	// to address a rejection notice for a message it could not open.
	HeaderReading = "Usapp-Reading"
)

// Consumer is the durable JetStream consumer name of the head-end.
const Consumer = "headend"

// DefaultBatch is how many readings the head-end fetches, verifies and
// commits together. Larger batches amortise the store's fsync and the
// checkpoint signature: 512 ingests about a third more than 256 here
// (BENCHMARKS.md), while a batch still commits in tens of milliseconds.
const DefaultBatch = 512

// Config tunes the head-end role.
type Config struct {
	Batch   int           // readings fetched and committed together (default DefaultBatch)
	MaxWait time.Duration // how long a fetch waits to fill a batch (default 50 ms)
	AckWait time.Duration // redelivery delay of a batch fetched but never acknowledged (default 30 s)
	Tariff  billing.Tariff
	Origin  string
}

// HeadEnd is the running role.
type HeadEnd struct {
	cfg   Config
	ing   *Ingester
	store *store.Store
	conn  *bus.Conn
	clock clock.Clock
	log   *slog.Logger
	ready chan struct{}
}

// New returns a head-end consuming from conn (an identity with the headend
// role) and ingesting with ing.
func New(cfg Config, ing *Ingester, st *store.Store, conn *bus.Conn, clk clock.Clock, log *slog.Logger) (*HeadEnd, error) {
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = 50 * time.Millisecond
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = 30 * time.Second
	}
	if _, err := billing.NewBiller(cfg.Tariff); err != nil {
		return nil, fmt.Errorf("headend: tariff: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &HeadEnd{cfg: cfg, ing: ing, store: st, conn: conn, clock: clk, log: log, ready: make(chan struct{})}, nil
}

// Ready is closed once the consumer is attached to the stream.
func (h *HeadEnd) Ready() <-chan struct{} { return h.ready }

// Ingester returns the ingester, for statistics.
func (h *HeadEnd) Ingester() *Ingester { return h.ing }

// Run consumes readings until ctx is cancelled. It returns nil on cancel.
func (h *HeadEnd) Run(ctx context.Context) error {
	if err := bus.EnsureStreams(ctx, h.conn.JS); err != nil {
		return fmt.Errorf("headend: streams: %w", err)
	}
	cons, err := h.conn.JS.CreateOrUpdateConsumer(ctx, bus.ReadingsStream, jetstream.ConsumerConfig{
		Durable: Consumer,
		// Explicit acks: with AckAll, a restarted head-end's first ack would
		// also acknowledge what its predecessor fetched but never stored.
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       h.cfg.AckWait,
		MaxAckPending: 64 * h.cfg.Batch,
	})
	if err != nil {
		return fmt.Errorf("headend: consumer: %w", err)
	}
	close(h.ready)
	batches := make(chan []jetstream.Msg, 2)
	go func() {
		defer close(batches)
		h.fetch(ctx, cons, batches)
	}()
	return Pipeline(ctx, h.ing, batches, h.toInbound, h.clock, h.deliver)
}

// fetch pulls batches from the consumer until ctx ends.
func (h *HeadEnd) fetch(ctx context.Context, cons jetstream.Consumer, out chan<- []jetstream.Msg) {
	for ctx.Err() == nil {
		b, err := cons.Fetch(h.cfg.Batch, jetstream.FetchMaxWait(h.cfg.MaxWait))
		if err != nil {
			if ctx.Err() == nil {
				h.log.Warn("fetch failed", "err", err)
				sleep(ctx, 100*time.Millisecond)
			}
			continue
		}
		var msgs []jetstream.Msg
		for m := range b.Messages() {
			msgs = append(msgs, m)
		}
		if len(msgs) == 0 {
			continue
		}
		select {
		case out <- msgs:
		case <-ctx.Done():
			return
		}
	}
}

func (h *HeadEnd) toInbound(m jetstream.Msg) Inbound {
	in := Inbound{Route: bus.RouteOf(m.Subject()), Data: m.Data()}
	if hdr := m.Headers(); hdr != nil {
		in.KnownSize, _ = strconv.ParseInt(hdr.Get(HeaderKnownSize), 10, 64)
		in.Meter, in.Counter = ParseReadingID(hdr.Get(HeaderReading))
	}
	return in
}

// deliver publishes the feedback and then acknowledges the batch; the
// acknowledgement comes last so that a crash before it redelivers the batch.
func (h *HeadEnd) deliver(msgs []jetstream.Msg, fb map[string]*feedback.Message) {
	for route, m := range fb {
		b, err := m.Marshal()
		if err != nil {
			h.log.Error("encode feedback", "err", err)
			continue
		}
		if err := h.conn.NC.Publish(bus.ReceiptSubject(route), b); err != nil {
			h.log.Warn("publish feedback", "route", route, "err", err)
		}
	}
	for _, m := range msgs {
		if err := m.Ack(); err != nil {
			h.log.Warn("ack", "err", err)
			return
		}
	}
}

// Pipeline runs the two ingest stages concurrently: while one batch is being
// stored and logged (serial), the next is decrypted and verified (parallel).
// It is shared by the bus consumer and BenchmarkIngest.
func Pipeline[M any](ctx context.Context, ing *Ingester, in <-chan []M, conv func(M) Inbound, clk clock.Clock,
	done func([]M, map[string]*feedback.Message)) error {
	type stage struct {
		msgs []M
		p    *Prepared
	}
	prepared := make(chan stage, 1)
	go func() {
		defer close(prepared)
		for msgs := range in {
			batch := make([]Inbound, len(msgs))
			for i, m := range msgs {
				batch[i] = conv(m)
			}
			select {
			case prepared <- stage{msgs, ing.Prepare(batch, clk.Now())}:
			case <-ctx.Done():
				return
			}
		}
	}()
	for s := range prepared {
		fb, err := ing.Apply(ctx, s.p)
		for err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// Nothing was stored; retry the same batch rather than skip it,
			// so that no acknowledged reading can be lost behind it.
			ing.logger.Error("apply failed; retrying", "err", err)
			sleep(ctx, time.Second)
			fb, err = ing.Apply(ctx, s.p)
		}
		done(s.msgs, fb)
	}
	return nil
}

// Bills computes every home's bill from the stored readings.
func (h *HeadEnd) Bills(ctx context.Context) ([]billing.Bill, error) {
	return ComputeBills(ctx, h.store, h.cfg.Tariff)
}

// ComputeBills bills every stored reading once under tariff t.
func ComputeBills(ctx context.Context, st *store.Store, t billing.Tariff) ([]billing.Bill, error) {
	b, err := billing.NewBiller(t)
	if err != nil {
		return nil, err
	}
	err = st.Readings(ctx, func(r store.Reading) error {
		return b.Add(r.Meter, billing.Register{Start: r.IntervalStart, Interval: r.Interval, EnergyWh: r.EnergyWh})
	})
	if err != nil {
		return nil, err
	}
	return b.Bills(), nil
}

// Controls lists the controls this role runs, for GET /controls.
func (h *HeadEnd) Controls() []framework.Active {
	a := []framework.Active{
		{ID: framework.SignedMessages, Params: map[string]string{"alg": "EdDSA (Ed25519), batch-verified", "format": "COSE_Sign1"}},
		{ID: framework.ReplayProtection, Params: map[string]string{"key": "meter+counter", "freshness": "envelope max age"}},
		{ID: framework.EndToEndEncryption, Params: map[string]string{"kem": "DHKEM(X25519)", "aead": "AES-256-GCM via HPKE exporter"}},
		{ID: framework.IntegrityFeedback, Params: map[string]string{"log": "RFC 6962 Merkle (sumdb/tlog)", "origin": h.cfg.Origin}},
		{ID: framework.DurableBus, Params: map[string]string{"stream": bus.ReadingsStream, "ack": "after store commit"}},
	}
	framework.SortActive(a)
	return a
}

// ReadingID names a reading on the bus, "<meter>.<counter>": the message ID
// (so JetStream drops a retransmission inside its duplicate window) and the
// HeaderReading value.
func ReadingID(meter string, counter uint64) string {
	return meter + "." + strconv.FormatUint(counter, 10)
}

// ParseReadingID splits a reading ID; malformed IDs yield zero values.
func ParseReadingID(id string) (string, uint64) {
	meter, c, ok := strings.Cut(id, ".")
	if !ok {
		return "", 0
	}
	n, err := strconv.ParseUint(c, 10, 64)
	if err != nil {
		return "", 0
	}
	return meter, n
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

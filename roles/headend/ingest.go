package headend

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/usapp/usapp/comms/envelope"
	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/computing/feedback"
	"github.com/usapp/usapp/computing/ledger"
	"github.com/usapp/usapp/metering"
	"github.com/usapp/usapp/platform/store"
)

// Rejection classes the head-end adds to those of the envelope.
var (
	// ErrRoute: the envelope names another route than the bus identity that
	// published it (a gateway forwarding under a false name).
	ErrRoute = errors.New("headend: envelope route differs from publisher")
	// ErrKind: a signed message that is not a reading.
	ErrKind = errors.New("headend: not a reading")
	// ErrBinding: the meter is not bound to the gateway that forwarded it, or
	// the register names another meter than the signer.
	ErrBinding = errors.New("headend: meter not bound to this gateway")
	// ErrReplay: a counter the meter already used, with other content.
	ErrReplay = errors.New("headend: counter reused with different content")
)

// Reason maps a rejection to a stable code for metrics, logs and notices.
func Reason(err error) string {
	switch {
	case errors.Is(err, ErrRoute):
		return "route"
	case errors.Is(err, ErrKind):
		return "kind"
	case errors.Is(err, ErrBinding):
		return "binding"
	case errors.Is(err, ErrReplay):
		return "replay"
	case errors.Is(err, metering.ErrMalformed):
		return "malformed"
	case errors.Is(err, pki.ErrRevoked):
		return "revoked"
	case errors.Is(err, pki.ErrExpired), errors.Is(err, pki.ErrNotYetValid):
		return "expired"
	case errors.Is(err, ErrUnknownCert), errors.Is(err, pki.ErrUnknownIssuer):
		return "unknown_sender"
	}
	return envelope.Reason(err)
}

// Inbound is one message as the bus delivered it.
type Inbound struct {
	Route     string // LFDI of the publishing identity, from the bus subject
	Data      []byte // the sealed envelope
	KnownSize int64  // the log size of the last checkpoint the route verified
	Meter     string // unauthenticated claim from the message ID, used only to address a rejection
	Counter   uint64
}

// Prepared is a batch after the parallel, stateless stage: decrypted,
// signature-checked and decoded, not yet deduplicated or stored.
type Prepared struct {
	in       []Inbound
	readings []candidate
	rejected []rejection
	opened   time.Time
}

type candidate struct {
	in     int // index into Prepared.in
	msg    *envelope.Message
	reg    metering.Register
	record []byte
}

type rejection struct {
	route   string
	meter   string
	counter uint64
	err     error
}

// Stats counts what the ingester has done since it started.
type Stats struct {
	Received   uint64            `json:"received"`
	Accepted   uint64            `json:"accepted"`
	Duplicates uint64            `json:"duplicates"`
	Rejected   uint64            `json:"rejected"`
	ByReason   map[string]uint64 `json:"rejected_by_reason,omitempty"`
	// Deferred counts readings left for the gateway to send again because
	// the CA's directory did not answer (ErrDirectoryUnavailable).
	Deferred uint64 `json:"deferred"`
	LogSize  int64  `json:"log_size"`
}

// Ingester verifies, deduplicates, stores and logs readings. Prepare may run
// on many goroutines; Apply must be called by one goroutine at a time (the
// head-end is the single writer of its store and log).
type Ingester struct {
	opener   *envelope.Opener
	store    *store.Store
	log      *ledger.Log
	resolver *Resolver // nil in plain mode
	self     string
	key      ed25519.PrivateKey
	logger   *slog.Logger

	applyMu    sync.Mutex
	checkpoint []byte
	cpSize     int64
	// answered is the size of the last checkpoint sent to each route.
	// Answers reach a route in the order they are sent, so this is the size
	// the gateway holds unless an answer was lost (then the size it states
	// in its next message's header is). Lost on restart, by design.
	answered  map[string]int64
	noticeSeq atomic.Uint64

	received, accepted, duplicates, rejected, deferred atomic.Uint64
	reasonMu                                           sync.Mutex
	byReason                                           map[string]uint64
}

// IngesterConfig wires an Ingester.
type IngesterConfig struct {
	Opener   *envelope.Opener
	Store    *store.Store
	Resolver *Resolver // nil disables the meter-to-gateway binding check (plain baseline)
	Origin   string    // the transparency log's origin line
	Self     string    // the head-end's LFDI, sender of rejection notices
	Key      ed25519.PrivateKey
	Log      *slog.Logger
}

// NewIngester restores the transparency log from the store and returns an
// ingester ready to Apply.
func NewIngester(ctx context.Context, cfg IngesterConfig) (*Ingester, error) {
	signer, err := ledger.NewSigner(cfg.Origin, cfg.Key)
	if err != nil {
		return nil, err
	}
	hashes, err := cfg.Store.LedgerHashes(ctx)
	if err != nil {
		return nil, fmt.Errorf("headend: load ledger: %w", err)
	}
	lg, err := ledger.Restore(cfg.Origin, signer, hashes)
	if err != nil {
		return nil, fmt.Errorf("headend: restore ledger: %w", err)
	}
	in := &Ingester{opener: cfg.Opener, store: cfg.Store, log: lg, resolver: cfg.Resolver, self: cfg.Self,
		key: cfg.Key, logger: cfg.Log, byReason: map[string]uint64{}, answered: map[string]int64{}}
	if in.logger == nil {
		in.logger = slog.New(slog.DiscardHandler)
	}
	if lg.Size() > 0 {
		if in.checkpoint, err = lg.Checkpoint(); err != nil {
			return nil, err
		}
		in.cpSize = lg.Size()
	}
	in.noticeSeq.Store(uint64(time.Now().UnixNano()))
	return in, nil
}

// Prepare opens a batch: decryption and batch signature verification in
// parallel, then the checks that need no state (route, kind, register, binding).
// A reading whose sender could not be looked up (ErrDirectoryUnavailable) is
// deferred: it gets no answer, so the gateway's spool sends it again.
func (in *Ingester) Prepare(batch []Inbound, now time.Time) *Prepared {
	in.received.Add(uint64(len(batch)))
	data := make([][]byte, len(batch))
	for i := range batch {
		data[i] = batch[i].Data
	}
	p := &Prepared{in: batch, opened: now}
	var (
		deferred int
		why      error
	)
	for i, res := range in.opener.OpenBatch(data, now) {
		c, err := in.admit(batch[i], res)
		switch {
		case errors.Is(err, ErrDirectoryUnavailable):
			deferred++
			why = err
		case err != nil:
			p.rejected = append(p.rejected, rejection{batch[i].Route, batch[i].Meter, batch[i].Counter, err})
		default:
			c.in = i
			p.readings = append(p.readings, c)
		}
	}
	if deferred > 0 {
		in.deferred.Add(uint64(deferred))
		in.logger.Warn("readings deferred until their gateways send them again", "count", deferred, "err", why)
	}
	return p
}

func (in *Ingester) admit(b Inbound, res envelope.Result) (candidate, error) {
	if res.Err != nil {
		return candidate{}, res.Err
	}
	m := res.Msg
	if m.From != b.Route {
		return candidate{}, ErrRoute
	}
	if m.Header.Kind != metering.Kind {
		return candidate{}, ErrKind
	}
	reg, err := metering.Unmarshal(m.Body)
	if err != nil {
		return candidate{}, err
	}
	if reg.Meter != m.Header.Sender {
		return candidate{}, fmt.Errorf("%w: register names another meter", ErrBinding)
	}
	if in.resolver != nil {
		id, ok := in.resolver.Identity(m.Header.Sender)
		if !ok || id.Role != pki.RoleMeter || (id.Gateway != b.Route && id.LFDI != b.Route) {
			return candidate{}, ErrBinding
		}
	}
	record := m.Signed
	if record == nil { // plain baseline: log what was sent
		record = b.Data
	}
	return candidate{msg: m, reg: reg, record: record}, nil
}

// Apply deduplicates a prepared batch against the store, stores and logs the
// new readings in one transaction, and returns the feedback for each route.
// An error means nothing was stored: the caller must not acknowledge the
// batch, so the bus delivers it again.
func (in *Ingester) Apply(ctx context.Context, p *Prepared) (map[string]*feedback.Message, error) {
	in.applyMu.Lock()
	defer in.applyMu.Unlock()
	keys := make([]store.Key, len(p.readings))
	for i, c := range p.readings {
		keys[i] = store.Key{Meter: c.reg.Meter, Counter: c.msg.Header.Counter}
	}
	existing, err := in.store.Lookup(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("headend: lookup: %w", err)
	}
	fresh, dups, rejected := in.classify(p, keys, existing)
	if err := in.commit(ctx, fresh, p.opened); err != nil {
		return nil, err
	}
	return in.answer(p, fresh, dups, rejected)
}

type placed struct {
	c     candidate
	index int64
	dup   bool
}

// classify splits candidates into new readings, duplicates of stored ones
// (idempotent: answered with the stored copy's receipt) and replays.
func (in *Ingester) classify(p *Prepared, keys []store.Key, existing map[store.Key]store.Reading) (fresh, dups []placed, rejected []rejection) {
	rejected = p.rejected
	inBatch := map[store.Key]int{}
	for i, c := range p.readings {
		k := keys[i]
		if old, ok := existing[k]; ok {
			if old.Digest != c.msg.Digest {
				rejected = append(rejected, rejection{p.in[c.in].Route, k.Meter, k.Counter, ErrReplay})
				continue
			}
			dups = append(dups, placed{c: c, index: old.LogIndex, dup: true})
			continue
		}
		if j, ok := inBatch[k]; ok {
			if fresh[j].c.msg.Digest != c.msg.Digest {
				rejected = append(rejected, rejection{p.in[c.in].Route, k.Meter, k.Counter, ErrReplay})
			} else {
				dups = append(dups, placed{c: c, index: -1 - int64(j), dup: true}) // resolved after commit
			}
			continue
		}
		inBatch[k] = len(fresh)
		fresh = append(fresh, placed{c: c})
	}
	return fresh, dups, rejected
}

// commit stores the new readings and their log hashes atomically; only after
// the transaction succeeds does the in-memory log move.
func (in *Ingester) commit(ctx context.Context, fresh []placed, now time.Time) error {
	if len(fresh) == 0 {
		return nil
	}
	records := make([][]byte, len(fresh))
	for i, f := range fresh {
		records[i] = f.c.record
	}
	pend, err := in.log.Prepare(records)
	if err != nil {
		return fmt.Errorf("headend: ledger: %w", err)
	}
	rows := make([]store.Reading, len(fresh))
	for i := range fresh {
		fresh[i].index = pend.Start + int64(i)
		c := fresh[i].c
		rows[i] = store.Reading{Meter: c.reg.Meter, Counter: c.msg.Header.Counter, Gateway: c.msg.From,
			IntervalStart: c.reg.Start, Interval: c.reg.Length, EnergyWh: c.reg.EnergyWh, Digest: c.msg.Digest,
			Record: c.record, LogIndex: fresh[i].index, ReceivedAt: now}
	}
	batch := store.Batch{Readings: rows, HashStart: pend.StartHash, Hashes: pend.Hashes,
		Checkpoint: in.checkpoint, CheckpointSize: in.cpSize}
	if err := in.store.Commit(ctx, batch); err != nil {
		in.log.Abort(pend)
		return fmt.Errorf("headend: store: %w", err)
	}
	if err := in.log.Commit(pend); err != nil {
		return fmt.Errorf("headend: ledger commit: %w", err)
	}
	cp, err := in.log.Checkpoint()
	if err != nil {
		return err
	}
	in.checkpoint, in.cpSize = cp, in.log.Size()
	return nil
}

// answer builds one feedback message per route: the checkpoint, a
// consistency proof from the size the route last verified, inclusion proofs,
// and a signed notice listing the route's rejected readings.
func (in *Ingester) answer(p *Prepared, fresh, dups []placed, rejected []rejection) (map[string]*feedback.Message, error) {
	size := in.log.Size()
	out := map[string]*feedback.Message{}
	known := map[string]int64{}
	for _, b := range p.in {
		known[b.Route] = max(known[b.Route], b.KnownSize)
	}
	msgFor := func(route string) *feedback.Message {
		if m, ok := out[route]; ok {
			return m
		}
		m := &feedback.Message{Checkpoint: in.checkpoint}
		for _, from := range []int64{in.answered[route], known[route]} {
			if _, dup := m.ProofFrom(from); from <= 0 || from >= size || dup {
				continue
			}
			if proof, err := in.log.ProveConsistency(from, size); err == nil {
				m.Proofs = append(m.Proofs, feedback.Consistency{From: from, Hashes: hashesToBytes(proof)})
			}
		}
		if len(m.Checkpoint) > 0 {
			in.answered[route] = size
		}
		out[route] = m
		return m
	}
	for _, list := range [][]placed{fresh, dups} {
		for _, f := range list {
			idx := f.index
			if idx < 0 {
				idx = fresh[-1-idx].index
			}
			proof, err := in.log.Prove(idx, size)
			if err != nil {
				return nil, fmt.Errorf("headend: prove %d: %w", idx, err)
			}
			st := feedback.Accepted
			if f.dup {
				st = feedback.Duplicate
			}
			m := msgFor(f.c.msg.From)
			leaf := ledger.RecordHash(f.c.record)
			m.Items = append(m.Items, feedback.Item{Meter: f.c.reg.Meter, Counter: f.c.msg.Header.Counter,
				Status: st, Index: idx, Proof: hashesToBytes(proof), Leaf: leaf[:]})
		}
	}
	in.accepted.Add(uint64(len(fresh)))
	in.duplicates.Add(uint64(len(dups)))
	if err := in.notify(rejected, msgFor); err != nil {
		return nil, err
	}
	return out, nil
}

func (in *Ingester) notify(rejected []rejection, msgFor func(string) *feedback.Message) error {
	if len(rejected) == 0 {
		return nil
	}
	byRoute := map[string][]feedback.Rejection{}
	for _, r := range rejected {
		reason := Reason(r.err)
		in.count(reason)
		in.logger.Warn("reading rejected", "route", r.route, "meter", r.meter, "counter", r.counter, "reason", reason)
		byRoute[r.route] = append(byRoute[r.route], feedback.Rejection{Meter: r.meter, Counter: r.counter, Reason: reason})
	}
	routes := make([]string, 0, len(byRoute))
	for r := range byRoute {
		routes = append(routes, r)
	}
	sort.Strings(routes)
	for _, route := range routes {
		body, err := feedback.MarshalRejections(byRoute[route])
		if err != nil {
			return err
		}
		notice, err := envelope.Sign(in.key, envelope.Header{V: 1, Kind: feedback.RejectionKind, Sender: in.self,
			Counter: in.noticeSeq.Add(1), Time: time.Now().UnixMilli()}, body)
		if err != nil {
			return err
		}
		msgFor(route).Notice = notice
	}
	return nil
}

func (in *Ingester) count(reason string) {
	in.rejected.Add(1)
	in.reasonMu.Lock()
	in.byReason[reason]++
	in.reasonMu.Unlock()
}

// Stats returns a snapshot of the counters.
func (in *Ingester) Stats() Stats {
	in.reasonMu.Lock()
	by := make(map[string]uint64, len(in.byReason))
	for k, v := range in.byReason {
		by[k] = v
	}
	in.reasonMu.Unlock()
	return Stats{Received: in.received.Load(), Accepted: in.accepted.Load(), Duplicates: in.duplicates.Load(),
		Rejected: in.rejected.Load(), ByReason: by, Deferred: in.deferred.Load(), LogSize: in.log.Size()}
}

// Checkpoint returns the latest signed checkpoint (nil for an empty log).
func (in *Ingester) Checkpoint() []byte {
	in.applyMu.Lock()
	defer in.applyMu.Unlock()
	return in.checkpoint
}

func hashesToBytes(hs []tlog.Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}

// Package gateway is the home gateway role: it joins the home's meter to the
// outside, and is where the home's policy is enforced. For each signed
// register from its meter it seals the register to the head-end, keeps it in a
// durable spool, publishes it on the bus and retransmits until the head-end's
// receipt arrives; it then checks the receipt against its own copy.
//
// Controls: A2.end-to-end-encryption (the sender side of one HPKE session per
// gateway run), B3.store-and-forward (nothing leaves the spool before the
// head-end's receipt), B3.integrity-feedback (inclusion proofs checked against
// the gateway's copy; consistency between successive checkpoints).
//
// # Alerts
//
// A receipt whose proof does not match the gateway's copy, a checkpoint with a
// bad signature, or a log that is not an extension of the one seen before is
// never silent: it is logged at error level, counted in Stats.Mismatches, and
// the reading stays in the spool unacknowledged.
package gateway

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/usapp/usapp/comms/envelope"
	"github.com/usapp/usapp/computing/feedback"
	"github.com/usapp/usapp/computing/ledger"
	"github.com/usapp/usapp/computing/spool"
	"github.com/usapp/usapp/framework"
	"github.com/usapp/usapp/platform/bus"
	"github.com/usapp/usapp/roles/headend"
	"github.com/usapp/usapp/roles/meter"
)

// Config tunes a gateway.
type Config struct {
	LFDI       string        // the gateway's bus identity
	Retransmit time.Duration // resend what has no receipt after this long (default 10 s)
	Origin     string        // the head-end's log origin
	// PublishTimeout bounds the first publish of a reading, so that a bus
	// outage delays the meter by this much at most; retransmission does the
	// rest (default 2 s).
	PublishTimeout time.Duration
}

// HeadEndKeys is what a gateway must know of its head-end: the key that
// signs checkpoints and rejection notices, and its identity.
type HeadEndKeys struct {
	LFDI       string
	SigningKey ed25519.PublicKey
	// Refresh, when set, fetches the head-end's keys again. The identity is
	// a certificate's (its LFDI), and a head-end whose certificate expired
	// while it was stopped comes back with a new one: a notice signed with
	// SigningKey under another LFDI is the head-end's once Refresh shows
	// the head-end under that LFDI with the same key. Asked at most once a
	// headEndRefreshGap, so that notices cannot make it hammer the head-end.
	Refresh func(context.Context) (HeadEndKeys, error)
}

// headEndRefreshGap is the least time between two HeadEndKeys.Refresh calls.
const headEndRefreshGap = time.Minute

// Stats counts a gateway's readings by fate.
type Stats struct {
	Sent                uint64 `json:"sent"`
	Accepted            uint64 `json:"accepted"`
	Rejected            uint64 `json:"rejected"`
	Retransmissions     uint64 `json:"retransmissions"`
	CheckpointsVerified uint64 `json:"checkpoints_verified"` // answers whose checkpoint and proofs verified
	Mismatches          uint64 `json:"mismatches"`
	Deferred            uint64 `json:"deferred"` // answers not yet provably consistent: settled by retransmission
}

// Gateway is the running role. Submit may be called from any goroutine.
type Gateway struct {
	cfg      Config
	conn     *bus.Conn
	spool    *spool.Spool
	session  *envelope.Session
	verifier note.Verifier
	headend  HeadEndKeys
	log      *slog.Logger

	witnessMu sync.Mutex
	witness   *ledger.Witness
	notices   *envelope.ReplayWindow

	heMu        sync.Mutex // the head-end's identity, which Refresh may update
	heRefreshed time.Time

	// pending holds the records of readings sent and not yet settled, so a
	// receipt is checked without a spool read; after a restart it is empty
	// and the spool answers.
	pendingMu sync.Mutex
	pending   map[spool.Key][]byte

	sent, accepted, rejected, retrans, verified, mismatches, deferred atomic.Uint64
}

// New returns a gateway publishing on conn, spooling to sp and sealing with
// session.
func New(cfg Config, conn *bus.Conn, sp *spool.Spool, session *envelope.Session, he HeadEndKeys, log *slog.Logger) (*Gateway, error) {
	if cfg.Retransmit <= 0 {
		cfg.Retransmit = 10 * time.Second
	}
	if cfg.PublishTimeout <= 0 {
		cfg.PublishTimeout = 2 * time.Second
	}
	v, err := ledger.NewVerifier(cfg.Origin, he.SigningKey)
	if err != nil {
		return nil, fmt.Errorf("gateway: checkpoint verifier: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Gateway{cfg: cfg, conn: conn, spool: sp, session: session, verifier: v, headend: he,
		log: log.With("gateway", cfg.LFDI), witness: ledger.NewWitness(v, cfg.Origin),
		notices: envelope.NewReplayWindow(1024), pending: map[spool.Key][]byte{}}, nil
}

// Subscribe attaches the receipt handler. Run calls it; a caller that drives
// retransmission itself (the in-process demo) calls it directly.
func (g *Gateway) Subscribe() (*nats.Subscription, error) {
	return g.conn.NC.Subscribe(bus.ReceiptSubject(g.cfg.LFDI), func(m *nats.Msg) { g.onFeedback(m.Data) })
}

// Run handles receipts and retransmits until ctx is cancelled.
func (g *Gateway) Run(ctx context.Context) error {
	sub, err := g.Subscribe()
	if err != nil {
		return fmt.Errorf("gateway: subscribe: %w", err)
	}
	defer sub.Unsubscribe()
	t := time.NewTicker(g.cfg.Retransmit / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := g.RetransmitDue(ctx, time.Now()); err != nil && ctx.Err() == nil {
				g.log.Warn("retransmit", "err", err)
			}
		}
	}
}

// Submit takes a signed register from the meter: seal, spool, publish. It
// returns once the reading is durable in the spool and one publish has been
// tried (for at most PublishTimeout); a failed publish is left to
// retransmission. The spool entry records the first send before it
// happens, so one durable write covers both and a crash in between only
// makes the reading due for retransmission.
func (g *Gateway) Submit(ctx context.Context, r meter.Reading) error {
	e, err := g.spoolReading(ctx, r)
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, g.cfg.PublishTimeout)
	defer cancel()
	if err := g.publish(pctx, e, 1); err != nil {
		g.log.Warn("publish failed; will retransmit", "meter", e.Meter, "counter", e.Counter, "err", err)
	}
	return nil
}

// spoolReading seals r and makes it durable and pending, counted as sent.
func (g *Gateway) spoolReading(ctx context.Context, r meter.Reading) (spool.Entry, error) {
	sealed, err := g.session.Seal(r.Signed)
	if err != nil {
		return spool.Entry{}, fmt.Errorf("gateway: seal: %w", err)
	}
	e := spool.Entry{Gateway: g.cfg.LFDI, Meter: r.Register.Meter, Counter: r.Counter, Sealed: sealed, Record: r.Signed,
		Attempts: 1, LastSent: time.Now()}
	if err := g.spool.Put(ctx, e); err != nil {
		return spool.Entry{}, fmt.Errorf("gateway: spool: %w", err)
	}
	g.pendingMu.Lock()
	g.pending[e.Key()] = e.Record
	g.pendingMu.Unlock()
	g.sent.Add(1)
	return e, nil
}

func (g *Gateway) publish(ctx context.Context, e spool.Entry, attempt int) error {
	id := headend.ReadingID(e.Meter, e.Counter)
	hdr := nats.Header{}
	hdr.Set(headend.HeaderReading, id)
	g.witnessMu.Lock()
	if cp, ok := g.witness.Latest(); ok {
		hdr.Set(headend.HeaderKnownSize, strconv.FormatInt(cp.Size, 10))
	}
	g.witnessMu.Unlock()
	// The attempt number is part of the message ID: the stream's duplicate
	// window then drops only a publish repeated within one attempt, while a
	// retransmission reaches the head-end, which answers it idempotently.
	return bus.PublishReadingHeaders(ctx, g.conn, g.cfg.LFDI, id+"/"+strconv.Itoa(attempt), e.Sealed, hdr)
}

// RetransmitDue republishes every spooled reading without a receipt that was
// last sent before now minus the retransmission interval.
func (g *Gateway) RetransmitDue(ctx context.Context, now time.Time) error {
	due, err := g.spool.Due(ctx, g.cfg.LFDI, now.Add(-g.cfg.Retransmit), 256)
	if err != nil {
		return err
	}
	var keys []spool.Key
	for _, e := range due {
		if err := g.publish(ctx, e, e.Attempts+1); err != nil {
			return err
		}
		keys = append(keys, spool.Key{Meter: e.Meter, Counter: e.Counter})
	}
	if len(keys) == 0 {
		return nil
	}
	g.retrans.Add(uint64(len(keys)))
	return g.spool.MarkSent(ctx, g.cfg.LFDI, keys, now)
}

// onFeedback checks a head-end answer: the signature of any rejection
// notice, then the checkpoint signature, the log's consistency with the last
// checkpoint this gateway verified, and each inclusion proof against the
// spooled copy.
func (g *Gateway) onFeedback(data []byte) {
	ctx := context.Background()
	m, err := feedback.Unmarshal(data)
	if err != nil {
		g.alert("malformed feedback", err)
		return
	}
	if m.Notice != nil {
		g.onNotice(ctx, m.Notice)
	}
	if len(m.Items) == 0 {
		return
	}
	cp, err := ledger.ParseCheckpoint(m.Checkpoint, g.verifier)
	if err != nil {
		g.alert("bad checkpoint", err)
		return
	}
	switch err := g.observe(cp, m); {
	case errors.Is(err, errDeferred):
		// Nothing proves this checkpoint extends the one we hold, so its
		// receipts are not trusted yet; the readings stay in the spool and a
		// retransmission brings an answer we can check.
		g.deferred.Add(1)
		g.log.Debug("answer deferred: no consistency proof from our checkpoint", "size", cp.Size)
		return
	case err != nil:
		g.alert("log not consistent with the last checkpoint", err)
		return
	}
	for _, it := range m.Items {
		g.checkItem(ctx, cp, m.Checkpoint, it)
	}
	g.verified.Add(1)
}

// errDeferred: an answer whose checkpoint cannot be tied to ours yet.
var errDeferred = errors.New("gateway: no consistency proof from our checkpoint")

// observe advances the witness to cp when a consistency proof from the
// checkpoint we hold verifies; the first checkpoint is trusted on first use.
func (g *Gateway) observe(cp ledger.Checkpoint, m *feedback.Message) error {
	g.witnessMu.Lock()
	defer g.witnessMu.Unlock()
	latest, ok := g.witness.Latest()
	var hashes [][]byte
	switch {
	case !ok || cp.Size == latest.Size:
		// First sight, or the same size (the witness requires the same hash).
	case cp.Size < latest.Size:
		return errDeferred
	default:
		if hashes, ok = m.ProofFrom(latest.Size); !ok {
			return errDeferred
		}
	}
	proof := make(tlog.TreeProof, len(hashes))
	for i, h := range hashes {
		copy(proof[i][:], h)
	}
	return g.witness.Observe(cp, proof)
}

func (g *Gateway) checkItem(ctx context.Context, cp ledger.Checkpoint, checkpoint []byte, it feedback.Item) {
	k := spool.Key{Meter: it.Meter, Counter: it.Counter}
	record, err := g.record(ctx, k)
	if err != nil {
		if !errors.Is(err, spool.ErrNotFound) {
			g.log.Warn("spool lookup", "err", err)
		}
		return
	}
	proof := make(tlog.RecordProof, len(it.Proof))
	for i, h := range it.Proof {
		copy(proof[i][:], h)
	}
	rc := ledger.Receipt{Index: it.Index, Checkpoint: checkpoint, Proof: proof}
	copy(rc.Leaf[:], it.Leaf)
	if err := ledger.VerifyInclusion(cp, record, rc); err != nil {
		g.alert("receipt does not match the reading sent", err, "meter", it.Meter, "counter", it.Counter)
		return
	}
	raw, err := rc.MarshalCBOR()
	if err != nil {
		g.log.Error("encode receipt", "err", err)
		return
	}
	first, err := g.spool.Ack(ctx, g.cfg.LFDI, k, raw)
	if err != nil {
		g.log.Warn("spool ack", "err", err)
		return
	}
	g.settled(k)
	if first {
		g.accepted.Add(1)
	}
}

// record returns the gateway's own copy of a reading it sent.
func (g *Gateway) record(ctx context.Context, k spool.Key) ([]byte, error) {
	g.pendingMu.Lock()
	r, ok := g.pending[k]
	g.pendingMu.Unlock()
	if ok {
		return r, nil
	}
	e, err := g.spool.Get(ctx, g.cfg.LFDI, k)
	return e.Record, err
}

func (g *Gateway) settled(k spool.Key) {
	g.pendingMu.Lock()
	delete(g.pending, k)
	g.pendingMu.Unlock()
}

func (g *Gateway) onNotice(ctx context.Context, notice []byte) {
	h, body, err := envelope.Verify(notice, g.headend.SigningKey)
	if err == nil && h.Kind != feedback.RejectionKind {
		err = fmt.Errorf("a %q message, not a rejection notice", h.Kind)
	}
	if err == nil {
		err = g.fromHeadEnd(ctx, h.Sender)
	}
	if err != nil {
		g.alert("rejection notice not signed by the head-end", err)
		return
	}
	if err := g.notices.Accept(h.Sender, h.Counter); err != nil {
		g.alert("replayed rejection notice", err)
		return
	}
	rs, err := feedback.UnmarshalRejections(body)
	if err != nil {
		g.alert("malformed rejection notice", err)
		return
	}
	for _, r := range rs {
		g.log.Warn("reading rejected by head-end", "meter", r.Meter, "counter", r.Counter, "reason", r.Reason)
		k := spool.Key{Meter: r.Meter, Counter: r.Counter}
		first, err := g.spool.Reject(ctx, g.cfg.LFDI, k, r.Reason)
		if err == nil {
			g.settled(k)
		}
		if err == nil && first {
			g.rejected.Add(1)
		}
	}
}

// fromHeadEnd checks that sender, who signed with the head-end's key, is the
// head-end's identity, asking the head-end (HeadEndKeys.Refresh) when it is
// not the one the gateway holds.
func (g *Gateway) fromHeadEnd(ctx context.Context, sender string) error {
	g.heMu.Lock()
	defer g.heMu.Unlock()
	if sender == g.headend.LFDI {
		return nil
	}
	if g.headend.Refresh == nil || time.Since(g.heRefreshed) < headEndRefreshGap {
		return fmt.Errorf("sender %s is not the head-end (%s)", sender, g.headend.LFDI)
	}
	g.heRefreshed = time.Now()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	now, err := g.headend.Refresh(ctx)
	switch {
	case err != nil:
		return fmt.Errorf("sender %s is not the head-end (%s), and its keys could not be fetched: %w", sender, g.headend.LFDI, err)
	case now.LFDI != sender || !now.SigningKey.Equal(g.headend.SigningKey):
		return fmt.Errorf("sender %s is not the head-end, which is %s now", sender, now.LFDI)
	}
	g.log.Info("the head-end has a new identity", "was", g.headend.LFDI, "now", sender)
	g.headend.LFDI = sender
	return nil
}

func (g *Gateway) alert(what string, err error, kv ...any) {
	g.mismatches.Add(1)
	g.log.Error("integrity alert: "+what, append(kv, "err", err)...)
}

// Stats returns the counters.
func (g *Gateway) Stats() Stats {
	return Stats{Sent: g.sent.Load(), Accepted: g.accepted.Load(), Rejected: g.rejected.Load(),
		Retransmissions: g.retrans.Load(), CheckpointsVerified: g.verified.Load(), Mismatches: g.mismatches.Load(), Deferred: g.deferred.Load()}
}

// Controls lists the controls this role runs, for GET /controls.
func (g *Gateway) Controls() []framework.Active {
	return []framework.Active{
		{ID: framework.EndToEndEncryption, Params: map[string]string{"kem": "DHKEM(X25519)", "session": "one per gateway run"}},
		{ID: framework.StoreAndForward, Params: map[string]string{"retransmit": g.cfg.Retransmit.String()}},
		{ID: framework.IntegrityFeedback, Params: map[string]string{"checks": "inclusion, consistency, checkpoint signature"}},
	}
}

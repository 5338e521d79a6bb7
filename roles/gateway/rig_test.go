package gateway

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/usapp/usapp/comms/envelope"
	"github.com/usapp/usapp/computing/feedback"
	"github.com/usapp/usapp/computing/ledger"
	"github.com/usapp/usapp/computing/spool"
	"github.com/usapp/usapp/metering"
	"github.com/usapp/usapp/roles/meter"
)

const (
	testOrigin = "usapp.test/headend"
	gwLFDI     = "GATEWAY-1"
)

var (
	meterLFDI = strings.Repeat("AB", 20)
	heLFDI    = strings.Repeat("0F", 20)
)

// rig is one gateway with a real spool, facing a head-end played by the
// test: a real Ed25519-signed transparency log and signed notices, built the
// way roles/headend/ingest.go builds its answers.
type rig struct {
	t        testing.TB
	g        *Gateway
	sp       *spool.Spool
	heKey    ed25519.PrivateKey
	meterKey ed25519.PrivateKey
	log      *ledger.Log
	logs     *lockedBuffer
	notices  uint64
}

// logged is where the head-end placed one reading.
type logged struct {
	key   spool.Key
	index int64
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func newRig(t testing.TB) *rig {
	t.Helper()
	heKey := newKey(t)
	sp, err := spool.Open(filepath.Join(t.TempDir(), "spool.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	kem, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	session, err := envelope.NewSession(kem.PublicKey(), gwLFDI)
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	g, err := New(Config{LFDI: gwLFDI, Origin: testOrigin}, nil, sp, session,
		HeadEndKeys{LFDI: heLFDI, SigningKey: heKey.Public().(ed25519.PublicKey)}, logger)
	if err != nil {
		t.Fatal(err)
	}
	return &rig{t: t, g: g, sp: sp, heKey: heKey, meterKey: newKey(t), log: newLog(t, heKey), logs: logs,
		notices: uint64(time.Now().UnixNano())}
}

func newKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newLog(t testing.TB, key ed25519.PrivateKey) *ledger.Log {
	t.Helper()
	s, err := ledger.NewSigner(testOrigin, key)
	if err != nil {
		t.Fatal(err)
	}
	return ledger.New(testOrigin, s)
}

// signed returns a register signed by the meter: the record the head-end logs.
func (r *rig) signed(counter uint64, wh int64) []byte {
	r.t.Helper()
	reg := metering.Register{Meter: meterLFDI, Start: time.Unix(1_700_000_000, 0).UTC().Truncate(metering.Interval),
		Length: metering.Interval, EnergyWh: wh}
	body, err := reg.Marshal()
	if err != nil {
		r.t.Fatal(err)
	}
	rec, err := envelope.Sign(r.meterKey, envelope.Header{Kind: metering.Kind, Sender: meterLFDI, Counter: counter,
		Time: time.Now().UnixMilli()}, body)
	if err != nil {
		r.t.Fatal(err)
	}
	return rec
}

// submit hands the gateway a reading the way Submit does, short of the bus.
func (r *rig) submit(counter uint64) (spool.Key, []byte) {
	r.t.Helper()
	rec := r.signed(counter, 100)
	reg := metering.Register{Meter: meterLFDI}
	e, err := r.g.spoolReading(context.Background(), meter.Reading{Register: reg, Counter: counter, Signed: rec})
	if err != nil {
		r.t.Fatal(err)
	}
	return e.Key(), rec
}

// append logs records in lg, as one head-end batch; it returns their places.
func (r *rig) append(lg *ledger.Log, keys []spool.Key, records ...[]byte) []logged {
	r.t.Helper()
	p, err := lg.Prepare(records)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := lg.Commit(p); err != nil {
		r.t.Fatal(err)
	}
	out := make([]logged, len(keys))
	for i, k := range keys {
		out[i] = logged{key: k, index: p.Start + int64(i)}
	}
	return out
}

// answer is the head-end's feedback from lg at its current size: checkpoint,
// a consistency proof from known (none when 0) and an inclusion proof per item.
func (r *rig) answer(lg *ledger.Log, known int64, items ...logged) []byte {
	r.t.Helper()
	size := lg.Size()
	cp, err := lg.Checkpoint()
	if err != nil {
		r.t.Fatal(err)
	}
	m := &feedback.Message{Checkpoint: cp}
	if known > 0 {
		proof, err := lg.ProveConsistency(known, size)
		if err != nil {
			r.t.Fatal(err)
		}
		m.Proofs = []feedback.Consistency{{From: known, Hashes: hashes(proof)}}
	}
	for _, it := range items {
		proof, err := lg.Prove(it.index, size)
		if err != nil {
			r.t.Fatal(err)
		}
		leaf := r.leaf(lg, it.index)
		m.Items = append(m.Items, feedback.Item{Meter: it.key.Meter, Counter: it.key.Counter, Status: feedback.Accepted,
			Index: it.index, Proof: hashes(proof), Leaf: leaf})
	}
	return marshal(r.t, m)
}

// leaf is the hash lg stores for index (its receipts carry it).
func (r *rig) leaf(lg *ledger.Log, index int64) []byte {
	r.t.Helper()
	rs, err := lg.Receipts(index, 1)
	if err != nil {
		r.t.Fatal(err)
	}
	return rs[0].Leaf[:]
}

// notice is a feedback message carrying a rejection notice signed by key.
func (r *rig) notice(key ed25519.PrivateKey, h envelope.Header, rs ...feedback.Rejection) []byte {
	r.t.Helper()
	body, err := feedback.MarshalRejections(rs)
	if err != nil {
		r.t.Fatal(err)
	}
	n, err := envelope.Sign(key, h, body)
	if err != nil {
		r.t.Fatal(err)
	}
	return marshal(r.t, &feedback.Message{Notice: n})
}

// noticeHeader is the header of the head-end's next notice.
func (r *rig) noticeHeader() envelope.Header {
	r.notices++
	return envelope.Header{Kind: feedback.RejectionKind, Sender: heLFDI, Counter: r.notices, Time: time.Now().UnixMilli()}
}

func (r *rig) entry(k spool.Key) spool.Entry {
	r.t.Helper()
	e, err := r.sp.Get(context.Background(), gwLFDI, k)
	if err != nil {
		r.t.Fatal(err)
	}
	return e
}

func (r *rig) isPending(k spool.Key) bool {
	r.g.pendingMu.Lock()
	defer r.g.pendingMu.Unlock()
	_, ok := r.g.pending[k]
	return ok
}

// alerts counts error-level log records that announce an integrity alert.
func (r *rig) alerts() int {
	r.logs.mu.Lock()
	defer r.logs.mu.Unlock()
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(r.logs.b.Bytes()))
	for sc.Scan() {
		var rec struct{ Level, Msg string }
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			r.t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if rec.Level == slog.LevelError.String() && strings.HasPrefix(rec.Msg, "integrity alert") {
			n++
		}
	}
	return n
}

// expectAlerts fails unless exactly n alerts were both counted and logged.
func (r *rig) expectAlerts(n int) {
	r.t.Helper()
	if got := r.g.Stats().Mismatches; got != uint64(n) {
		r.t.Errorf("Stats().Mismatches = %d, want %d", got, n)
	}
	if got := r.alerts(); got != n {
		r.t.Errorf("error-level integrity alerts logged = %d, want %d", got, n)
	}
}

// expectUnsettled fails unless k is still waiting for the head-end.
func (r *rig) expectUnsettled(k spool.Key) {
	r.t.Helper()
	if e := r.entry(k); e.Acked || e.Receipt != nil || e.Rejected != "" {
		r.t.Errorf("entry %v settled (acked %v, rejected %q), want pending", k, e.Acked, e.Rejected)
	}
	if !r.isPending(k) {
		r.t.Errorf("entry %v dropped from the pending records", k)
	}
}

func marshal(t testing.TB, m *feedback.Message) []byte {
	t.Helper()
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func hashes(hs []tlog.Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}

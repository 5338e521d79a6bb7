package ledger_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/usapp/usapp/computing/ledger"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const origin = "headend.usapp.example/billing"

type keys struct {
	signer   note.Signer
	verifier note.Verifier
}

// testKeys derives a deterministic key pair so failures reproduce.
func testKeys(t testing.TB, seed byte) keys {
	t.Helper()
	priv := ed25519.NewKeyFromSeed(sha256.New().Sum([]byte{seed})[:32])
	s, err := ledger.NewSigner(origin, priv)
	if err != nil {
		t.Fatal(err)
	}
	v, err := ledger.NewVerifier(origin, priv.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	return keys{s, v}
}

func record(i int) []byte { return fmt.Appendf(nil, "meter-%03d|2026-01-01T00:30Z|%d Wh", i%7, 1000+i) }

// mth is the RFC 6962 Merkle tree hash, computed from the definition with
// SHA-256 directly, independent of tlog.
func mth(leaves [][]byte) tlog.Hash {
	switch n := len(leaves); n {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return sha256.Sum256(append([]byte{0}, leaves[0]...))
	default:
		k := 1
		for k*2 < n {
			k *= 2
		}
		l, r := mth(leaves[:k]), mth(leaves[k:])
		return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
	}
}

// appendAll appends records in batches of the given sizes (cycled) and
// returns every persisted hash, in order.
func appendAll(t testing.TB, l *ledger.Log, recs [][]byte, batches ...int) []tlog.Hash {
	t.Helper()
	var stored []tlog.Hash
	base := l.Size()
	for i, b := 0, 0; i < len(recs); b++ {
		n := min(batches[b%len(batches)], len(recs)-i)
		p, err := l.Prepare(recs[i : i+n])
		if err != nil {
			t.Fatal(err)
		}
		if p.Start != base+int64(i) || p.StartHash != tlog.StoredHashCount(p.Start) || p.Count != int64(n) {
			t.Fatalf("pending start %d/%d, want %d", p.Start, p.StartHash, base+int64(i))
		}
		stored = append(stored, p.Hashes...)
		if err := l.Commit(p); err != nil {
			t.Fatal(err)
		}
		i += n
	}
	return stored
}

func records(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = record(i)
	}
	return out
}

func TestTreesOf1To17(t *testing.T) {
	k := testKeys(t, 1)
	for n := 1; n <= 17; n++ {
		l := ledger.New(origin, k.signer)
		recs := records(n)
		appendAll(t, l, recs, 1, 3, 2)
		for size := 1; size <= n; size++ {
			root, err := l.Root(int64(size))
			if err != nil {
				t.Fatal(err)
			}
			if want := mth(recs[:size]); root != want {
				t.Fatalf("n=%d size=%d: root %v, want %v", n, size, root, want)
			}
			for i := range size {
				p, err := l.Prove(int64(i), int64(size))
				if err != nil {
					t.Fatal(err)
				}
				if err := tlog.CheckRecord(p, int64(size), root, int64(i), ledger.RecordHash(recs[i])); err != nil {
					t.Fatalf("n=%d size=%d i=%d: %v", n, size, i, err)
				}
			}
		}
		rs, err := l.Receipts(0, int64(n))
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range rs {
			c, err := ledger.VerifyReceipt(k.verifier, origin, recs[i], r)
			if err != nil {
				t.Fatalf("n=%d receipt %d: %v", n, i, err)
			}
			if c.Size != int64(n) || c.Hash != mth(recs) || c.Origin != origin {
				t.Fatalf("n=%d: checkpoint %+v", n, c)
			}
			other := recs[(i+1)%n]
			if n == 1 {
				other = []byte("tampered")
			}
			if _, err := ledger.VerifyReceipt(k.verifier, origin, other, r); !errors.Is(err, ledger.ErrMismatch) {
				t.Fatalf("n=%d receipt %d for another record: %v, want ErrMismatch", n, i, err)
			}
		}
	}
}

func TestEmptyTreeCheckpoint(t *testing.T) {
	k := testKeys(t, 1)
	cp, err := ledger.New(origin, k.signer).Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	c, err := ledger.ParseCheckpoint(cp, k.verifier)
	if err != nil {
		t.Fatal(err)
	}
	if c.Size != 0 || c.Hash != sha256.Sum256(nil) {
		t.Fatalf("empty checkpoint %+v", c)
	}
}

func TestReceiptRejections(t *testing.T) {
	k, other := testKeys(t, 1), testKeys(t, 2)
	recs := records(9)
	l := ledger.New(origin, k.signer)
	appendAll(t, l, recs, 9)
	rs, err := l.Receipts(0, 9)
	if err != nil {
		t.Fatal(err)
	}
	r := rs[4]

	forged := ledger.New(origin, other.signer)
	appendAll(t, forged, recs, 9)
	frs, _ := forged.Receipts(0, 9)
	if _, err := ledger.VerifyReceipt(k.verifier, origin, recs[4], frs[4]); !errors.Is(err, ledger.ErrBadCheckpoint) {
		t.Errorf("checkpoint signed by another key: %v, want ErrBadCheckpoint", err)
	}
	if _, err := ledger.VerifyReceipt(k.verifier, "other.example/log", recs[4], r); !errors.Is(err, ledger.ErrBadCheckpoint) {
		t.Errorf("wrong origin: %v, want ErrBadCheckpoint", err)
	}
	bad := r
	bad.Proof = append(tlog.RecordProof(nil), r.Proof...)
	bad.Proof[1][0] ^= 1
	if _, err := ledger.VerifyReceipt(k.verifier, origin, recs[4], bad); !errors.Is(err, ledger.ErrBadProof) {
		t.Errorf("tampered proof: %v, want ErrBadProof", err)
	}
	bad = r
	bad.Index = 5
	if _, err := ledger.VerifyReceipt(k.verifier, origin, recs[4], bad); !errors.Is(err, ledger.ErrBadProof) {
		t.Errorf("wrong index: %v, want ErrBadProof", err)
	}
	bad = r
	bad.Index = 9
	if _, err := ledger.VerifyReceipt(k.verifier, origin, recs[4], bad); !errors.Is(err, ledger.ErrBadProof) {
		t.Errorf("index past size: %v, want ErrBadProof", err)
	}
	// A receipt whose leaf was swapped for ours but whose proof is for the
	// logged record: the proof must fail, not pass as a match.
	bad = r
	bad.Leaf = ledger.RecordHash(recs[5])
	if _, err := ledger.VerifyReceipt(k.verifier, origin, recs[5], bad); !errors.Is(err, ledger.ErrBadProof) {
		t.Errorf("swapped leaf: %v, want ErrBadProof", err)
	}
	bad = r
	bad.Checkpoint = append([]byte(nil), r.Checkpoint...)
	bad.Checkpoint[len(origin)+1] ^= 1 // the size line
	if _, err := ledger.VerifyReceipt(k.verifier, origin, recs[4], bad); !errors.Is(err, ledger.ErrBadCheckpoint) {
		t.Errorf("altered checkpoint text: %v, want ErrBadCheckpoint", err)
	}
}

func TestSignerKeyHashMatchesNote(t *testing.T) {
	k := testKeys(t, 3)
	if k.signer.KeyHash() != k.verifier.KeyHash() || k.signer.Name() != k.verifier.Name() {
		t.Fatalf("signer %s/%08x, verifier %s/%08x", k.signer.Name(), k.signer.KeyHash(), k.verifier.Name(), k.verifier.KeyHash())
	}
	msg, err := note.Sign(&note.Note{Text: "hello\n"}, k.signer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open(msg, note.VerifierList(k.verifier)); err != nil {
		t.Fatal(err)
	}
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	for _, name := range []string{"", "has space", "a+b"} {
		if _, err := ledger.NewSigner(name, priv); !errors.Is(err, ledger.ErrBadKey) {
			t.Errorf("NewSigner(%q): %v", name, err)
		}
	}
	if _, err := ledger.NewSigner("ok", priv[:10]); !errors.Is(err, ledger.ErrBadKey) {
		t.Errorf("short key: %v", err)
	}
	if _, err := ledger.NewVerifier("ok", make([]byte, 5)); !errors.Is(err, ledger.ErrBadKey) {
		t.Errorf("short public key: %v", err)
	}
}

func checkpointOf(t testing.TB, l *ledger.Log, v note.Verifier) ledger.Checkpoint {
	t.Helper()
	cp, err := l.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	c, err := ledger.ParseCheckpoint(cp, v)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestWitness(t *testing.T) {
	k := testKeys(t, 1)
	recs := records(20)
	honest := ledger.New(origin, k.signer)
	w := ledger.NewWitness(k.verifier, origin)
	if _, ok := w.Latest(); ok {
		t.Fatal("new witness has a latest checkpoint")
	}
	var prev int64
	for _, n := range []int{0, 3, 3, 8, 13} {
		appendAll(t, honest, recs[prev:n], 4)
		cp, err := honest.Checkpoint()
		if err != nil {
			t.Fatal(err)
		}
		proof, err := honest.ProveConsistency(prev, int64(n))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.ObserveNote(cp, proof); err != nil {
			t.Fatalf("size %d: %v", n, err)
		}
		prev = int64(n)
	}
	latest, _ := w.Latest()
	if latest.Size != 13 {
		t.Fatalf("latest size %d", latest.Size)
	}

	// Fork: same key, same first 8 records, different 9th onwards.
	fork := ledger.New(origin, k.signer)
	forked := records(16)
	forked[8] = []byte("rewritten bill")
	appendAll(t, fork, forked, 16)
	fc := checkpointOf(t, fork, k.verifier)
	fp, err := fork.ProveConsistency(13, 16)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Observe(fc, fp); !errors.Is(err, ledger.ErrInconsistent) {
		t.Fatalf("fork: %v, want ErrInconsistent", err)
	}
	// Same size, other root.
	fork13 := ledger.New(origin, k.signer)
	appendAll(t, fork13, forked[:13], 13)
	if err := w.Observe(checkpointOf(t, fork13, k.verifier), nil); !errors.Is(err, ledger.ErrInconsistent) {
		t.Fatalf("fork at equal size: %v, want ErrInconsistent", err)
	}
	// Rollback to an honest earlier checkpoint.
	old := ledger.New(origin, k.signer)
	appendAll(t, old, recs[:8], 8)
	if err := w.Observe(checkpointOf(t, old, k.verifier), nil); !errors.Is(err, ledger.ErrInconsistent) {
		t.Fatalf("rollback: %v, want ErrInconsistent", err)
	}
	// Growth with a missing proof is not accepted.
	appendAll(t, honest, recs[13:], 7)
	hc := checkpointOf(t, honest, k.verifier)
	if err := w.Observe(hc, nil); !errors.Is(err, ledger.ErrInconsistent) {
		t.Fatalf("no proof: %v, want ErrInconsistent", err)
	}
	if got, _ := w.Latest(); got != latest {
		t.Fatalf("rejected checkpoints changed latest: %+v", got)
	}
	hp, _ := honest.ProveConsistency(13, 20)
	if err := w.Observe(hc, hp); err != nil {
		t.Fatalf("honest growth after rejections: %v", err)
	}
	if err := w.Observe(ledger.Checkpoint{Origin: "x.example", Size: 30}, nil); !errors.Is(err, ledger.ErrBadCheckpoint) {
		t.Fatalf("other origin: %v", err)
	}
}

func TestRestore(t *testing.T) {
	k := testKeys(t, 1)
	recs := records(37)
	l := ledger.New(origin, k.signer)
	stored := appendAll(t, l, recs, 5, 1, 11)
	r, err := ledger.Restore(origin, k.signer, stored)
	if err != nil {
		t.Fatal(err)
	}
	a, b := checkpointOf(t, l, k.verifier), checkpointOf(t, r, k.verifier)
	if a != b || r.Size() != 37 || a.Hash != mth(recs) {
		t.Fatalf("restored %+v, original %+v", b, a)
	}
	// The restored log keeps appending identically.
	more := append(recs, records(50)[37:]...)
	appendAll(t, l, more[37:], 13)
	appendAll(t, r, more[37:], 2)
	if a, b := checkpointOf(t, l, k.verifier), checkpointOf(t, r, k.verifier); a != b {
		t.Fatalf("after restore+append: %+v vs %+v", b, a)
	}

	// Record 36 adds one hash and record 35 three, so cutting two hashes
	// leaves a count that matches no tree size. (Cutting exactly the hashes of
	// whole trailing records yields a valid shorter log: callers compare the
	// restored root with their last persisted checkpoint.)
	if _, err := ledger.Restore(origin, k.signer, stored[:len(stored)-2]); !errors.Is(err, ledger.ErrCorrupt) {
		t.Errorf("truncated: %v, want ErrCorrupt", err)
	}
	altered := append([]tlog.Hash(nil), stored...)
	altered[2][3] ^= 1 // the level-1 hash over records 0 and 1
	if _, err := ledger.Restore(origin, k.signer, altered); !errors.Is(err, ledger.ErrCorrupt) {
		t.Errorf("altered: %v, want ErrCorrupt", err)
	}
	if e, err := ledger.Restore(origin, k.signer, nil); err != nil || e.Size() != 0 {
		t.Errorf("empty restore: %v", err)
	}
}

func TestPrepareAbortLeavesStateUnchanged(t *testing.T) {
	k := testKeys(t, 1)
	l := ledger.New(origin, k.signer)
	appendAll(t, l, records(6), 6)
	before := checkpointOf(t, l, k.verifier)

	p, err := l.Prepare(records(9)[6:])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Prepare(records(1)); !errors.Is(err, ledger.ErrPendingOpen) {
		t.Fatalf("second prepare: %v, want ErrPendingOpen", err)
	}
	if got := checkpointOf(t, l, k.verifier); got != before || l.Size() != 6 {
		t.Fatalf("prepare changed the log: %+v", got)
	}
	if _, err := l.Prove(6, 7); !errors.Is(err, ledger.ErrRange) {
		t.Fatalf("proof into pending records: %v", err)
	}
	l.Abort(p)
	if err := l.Commit(p); !errors.Is(err, ledger.ErrNotPending) {
		t.Fatalf("commit after abort: %v, want ErrNotPending", err)
	}
	if got := checkpointOf(t, l, k.verifier); got != before || l.Size() != 6 {
		t.Fatalf("abort changed the log: %+v", got)
	}
	p2, err := l.Prepare(records(9)[6:])
	if err != nil {
		t.Fatal(err)
	}
	if p2.Root != p.Root || len(p2.Hashes) != len(p.Hashes) {
		t.Fatal("same append prepared twice differs")
	}
	if err := l.Commit(p2); err != nil {
		t.Fatal(err)
	}
	if got := checkpointOf(t, l, k.verifier); got.Hash != p.Root || got.Hash != mth(records(9)) {
		t.Fatalf("commit root %v, want %v", got.Hash, p.Root)
	}
}

func TestReceiptEncodings(t *testing.T) {
	k := testKeys(t, 1)
	l := ledger.New(origin, k.signer)
	recs := records(11)
	appendAll(t, l, recs, 11)
	rs, _ := l.Receipts(3, 2)
	b, err := cbor.Marshal(rs[0])
	if err != nil {
		t.Fatal(err)
	}
	got, err := ledger.DecodeReceipt(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ledger.VerifyReceipt(k.verifier, origin, recs[3], got); err != nil {
		t.Fatalf("decoded receipt: %v", err)
	}
	// Integer keys, as documented: the first key of the map is 1.
	var m map[int]cbor.RawMessage
	if err := cbor.Unmarshal(b, &m); err != nil || len(m) != 4 || m[1] == nil || m[4] == nil {
		t.Fatalf("wire map %v: %v", m, err)
	}
	// Embedded in another message, the custom codec is used both ways.
	type batch struct {
		R []ledger.Receipt `cbor:"1,keyasint"`
	}
	bb, _ := cbor.Marshal(batch{rs})
	var back batch
	if err := cbor.Unmarshal(bb, &back); err != nil || len(back.R) != 2 || back.R[1].Index != 4 {
		t.Fatalf("embedded: %v", err)
	}
	j, _ := json.Marshal(rs[1])
	var jr ledger.Receipt
	if err := json.Unmarshal(j, &jr); err != nil {
		t.Fatal(err)
	}
	if _, err := ledger.VerifyReceipt(k.verifier, origin, recs[4], jr); err != nil {
		t.Fatalf("json receipt: %v", err)
	}

	long := rs[0]
	long.Proof = make(tlog.RecordProof, 65)
	lb, _ := cbor.Marshal(long)
	if _, err := ledger.DecodeReceipt(lb); !errors.Is(err, ledger.ErrMalformed) {
		t.Errorf("65-hash proof: %v, want ErrMalformed", err)
	}
	extra := map[int]any{1: 3, 2: rs[0].Checkpoint, 3: [][]byte{}, 4: make([]byte, 32), 5: 1}
	eb, _ := cbor.Marshal(extra)
	if _, err := ledger.DecodeReceipt(eb); !errors.Is(err, ledger.ErrMalformed) {
		t.Errorf("unknown key: %v, want ErrMalformed", err)
	}
	short := map[int]any{1: 3, 2: rs[0].Checkpoint, 3: [][]byte{make([]byte, 31)}, 4: make([]byte, 32)}
	sb, _ := cbor.Marshal(short)
	if _, err := ledger.DecodeReceipt(sb); !errors.Is(err, ledger.ErrMalformed) {
		t.Errorf("short proof hash: %v, want ErrMalformed", err)
	}
}

// TestConcurrentProveAndAppend runs readers against a growing log; run
// with -race.
func TestConcurrentProveAndAppend(t *testing.T) {
	k := testKeys(t, 1)
	l := ledger.New(origin, k.signer)
	recs := records(400)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			for l.Size() < 400 {
				n := l.Size()
				if n == 0 {
					continue
				}
				rs, err := l.Receipts(n-1, 1)
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := ledger.VerifyReceipt(k.verifier, origin, recs[rs[0].Index], rs[0]); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	appendAll(t, l, recs, 7)
	wg.Wait()
}

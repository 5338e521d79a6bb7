package gateway

import (
	"context"
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"github.com/usapp/usapp/comms/envelope"
	"github.com/usapp/usapp/computing/feedback"
	"github.com/usapp/usapp/computing/ledger"
	"github.com/usapp/usapp/computing/spool"
)

func TestReceiptAcknowledgesOnce(t *testing.T) {
	r := newRig(t)
	k, rec := r.submit(1)
	answer := r.answer(r.log, 0, r.append(r.log, []spool.Key{k}, rec)...)

	r.g.onFeedback(answer)
	e := r.entry(k)
	if !e.Acked || e.Rejected != "" {
		t.Fatalf("entry acked %v rejected %q, want acked", e.Acked, e.Rejected)
	}
	rc, err := ledger.DecodeReceipt(e.Receipt)
	if err != nil {
		t.Fatalf("stored receipt: %v", err)
	}
	if _, err := ledger.VerifyReceipt(r.g.verifier, testOrigin, rec, rc); err != nil {
		t.Fatalf("stored receipt does not prove our record: %v", err)
	}
	if r.isPending(k) {
		t.Error("acknowledged reading still pending")
	}

	r.g.onFeedback(answer) // a duplicate answer, now checked against the spool's copy
	st := r.g.Stats()
	if st.Accepted != 1 || st.CheckpointsVerified != 2 || st.Mismatches != 0 || st.Sent != 1 {
		t.Fatalf("stats %+v, want 1 sent, 1 accepted, 2 checkpoints verified, no mismatch", st)
	}
	r.expectAlerts(0)
}

func TestReceiptForOtherRecordAlerts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		forge func(r *rig, k spool.Key, rec []byte) []byte
	}{
		{"utility logged other bytes", func(r *rig, k spool.Key, _ []byte) []byte {
			return r.answer(r.log, 0, r.append(r.log, []spool.Key{k}, r.signed(k.Counter, 999))...)
		}},
		{"our leaf on another record's proof", func(r *rig, k spool.Key, rec []byte) []byte {
			r.append(r.log, []spool.Key{k}, r.signed(k.Counter, 999))
			return r.answerWithLeaf(0, k, rec)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			k, rec := r.submit(1)
			r.g.onFeedback(tc.forge(r, k, rec))
			r.expectAlerts(1)
			r.expectUnsettled(k)
			if st := r.g.Stats(); st.Accepted != 0 {
				t.Fatalf("accepted %d readings on a mismatching receipt", st.Accepted)
			}
		})
	}
}

// answerWithLeaf answers for k with the log's proof of index but the leaf
// hash of rec, as a head-end claiming to have logged rec would.
func (r *rig) answerWithLeaf(index int64, k spool.Key, rec []byte) []byte {
	r.t.Helper()
	m, err := feedback.Unmarshal(r.answer(r.log, 0, logged{key: k, index: index}))
	if err != nil {
		r.t.Fatal(err)
	}
	leaf := ledger.RecordHash(rec)
	m.Items[0].Leaf = leaf[:]
	return marshal(r.t, m)
}

func TestCheckpointSignedByOtherKeyAlerts(t *testing.T) {
	r := newRig(t)
	k, rec := r.submit(1)
	rogue := newLog(t, newKey(t)) // same origin, another key
	r.g.onFeedback(r.answer(rogue, 0, r.append(rogue, []spool.Key{k}, rec)...))
	r.expectAlerts(1)
	r.expectUnsettled(k)
	if st := r.g.Stats(); st.Accepted != 0 || st.CheckpointsVerified != 0 {
		t.Fatalf("stats %+v after a forged checkpoint", st)
	}
	if _, ok := r.g.witness.Latest(); ok {
		t.Fatal("witness took a forged checkpoint")
	}
}

func TestForkedLogAlerts(t *testing.T) {
	for _, tc := range []struct {
		name      string
		withProof bool
	}{{"failing consistency proof", true}, {"no consistency proof", false}} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			k1, rec1 := r.submit(1)
			r.g.onFeedback(r.answer(r.log, 0, r.append(r.log, []spool.Key{k1}, rec1)...))
			seen, ok := r.g.witness.Latest()
			if !ok || seen.Size != 1 || r.g.Stats().Accepted != 1 {
				t.Fatalf("first checkpoint not taken: %+v %v", seen, ok)
			}

			// The fork rewrote history before appending reading 2.
			k2, rec2 := r.submit(2)
			fork := newLog(t, r.heKey)
			r.append(fork, nil, r.signed(1, 999))
			items := r.append(fork, []spool.Key{k2}, rec2)
			known := int64(0)
			if tc.withProof {
				known = seen.Size // the proof is from size 1 of the fork, so it cannot verify against A
			}
			r.g.onFeedback(r.answer(fork, known, items...))

			if tc.withProof {
				r.expectAlerts(1) // a proof from our checkpoint that fails: a fork
			} else {
				r.expectAlerts(0) // no proof from our checkpoint: not trusted, not alarming
				if d := r.g.Stats().Deferred; d != 1 {
					t.Fatalf("deferred %d, want 1", d)
				}
			}
			r.expectUnsettled(k2)
			if latest, _ := r.g.witness.Latest(); latest != seen {
				t.Fatalf("witness moved to %+v, want to keep %+v", latest, seen)
			}
			if st := r.g.Stats(); st.Accepted != 1 {
				t.Fatalf("accepted %d, want only the reading of the honest log", st.Accepted)
			}

			// The honest log's extension is still accepted.
			items = r.append(r.log, []spool.Key{k2}, rec2)
			r.g.onFeedback(r.answer(r.log, seen.Size, items...))
			wantMismatches := uint64(0)
			if tc.withProof {
				wantMismatches = 1
			}
			if st := r.g.Stats(); st.Accepted != 2 || st.Mismatches != wantMismatches {
				t.Fatalf("honest extension: stats %+v", st)
			}
		})
	}
}

func TestRejectionNotice(t *testing.T) {
	r := newRig(t)
	k1, _ := r.submit(1)
	k2, _ := r.submit(2)
	reject := func(k spool.Key) feedback.Rejection {
		return feedback.Rejection{Meter: k.Meter, Counter: k.Counter, Reason: "replay"}
	}

	h := r.noticeHeader()
	r.g.onFeedback(r.notice(r.heKey, h, reject(k1)))
	if e := r.entry(k1); !e.Acked || e.Rejected != "replay" || e.Receipt != nil {
		t.Fatalf("rejected entry: acked %v reason %q receipt %x", e.Acked, e.Rejected, e.Receipt)
	}
	if st := r.g.Stats(); st.Rejected != 1 || st.Mismatches != 0 || r.isPending(k1) {
		t.Fatalf("after a genuine notice: stats %+v, pending %v", st, r.isPending(k1))
	}

	wrongKind := r.noticeHeader()
	wrongKind.Kind = "receipt"
	for i, bad := range [][]byte{
		r.notice(newKey(t), r.noticeHeader(), reject(k2)), // forged signature
		r.notice(r.heKey, h, reject(k2)),                  // replayed counter
		r.notice(r.heKey, wrongKind, reject(k2)),          // a signed message of another kind
	} {
		r.g.onFeedback(bad)
		r.expectAlerts(i + 1)
		r.expectUnsettled(k2)
	}
	if st := r.g.Stats(); st.Rejected != 1 {
		t.Fatalf("rejected %d, want 1", st.Rejected)
	}
}

// A head-end that comes back with a new certificate (a new LFDI) for the
// same key is still the head-end: the gateway asks it for its keys once,
// takes the new identity and settles the rejection. A sender the head-end
// does not confirm, or one it names with another key, is an alert, and the
// head-end is asked at most once a headEndRefreshGap.
func TestRejectionNoticeFromAHeadEndWithANewCertificate(t *testing.T) {
	r := newRig(t)
	renewed := strings.Repeat("1E", 20)
	answer := HeadEndKeys{LFDI: renewed, SigningKey: r.heKey.Public().(ed25519.PublicKey)}
	asked := 0
	r.g.headend.Refresh = func(context.Context) (HeadEndKeys, error) { asked++; return answer, nil }
	k1, _ := r.submit(1)
	k2, _ := r.submit(2)
	k3, _ := r.submit(3)
	reject := func(k spool.Key) feedback.Rejection {
		return feedback.Rejection{Meter: k.Meter, Counter: k.Counter, Reason: "replay"}
	}
	from := func(lfdi string) envelope.Header {
		h := r.noticeHeader()
		h.Sender = lfdi
		return h
	}

	r.g.onFeedback(r.notice(r.heKey, from(renewed), reject(k1)))
	if st := r.g.Stats(); st.Rejected != 1 || st.Mismatches != 0 || asked != 1 {
		t.Fatalf("notice from the renewed head-end: stats %+v, asked %d", st, asked)
	}
	r.g.onFeedback(r.notice(r.heKey, from(renewed), reject(k2)))
	if st := r.g.Stats(); st.Rejected != 2 || asked != 1 {
		t.Fatalf("second notice: stats %+v, asked %d times, want once", st, asked)
	}

	r.g.heRefreshed = time.Time{} // past the gap
	r.g.onFeedback(r.notice(r.heKey, from(strings.Repeat("2D", 20)), reject(k3)))
	r.expectAlerts(1)
	r.g.onFeedback(r.notice(r.heKey, from(strings.Repeat("3C", 20)), reject(k3)))
	r.expectAlerts(2)
	if asked != 2 {
		t.Fatalf("asked %d times, want 2: once a gap", asked)
	}
	r.g.heRefreshed = time.Time{}
	answer = HeadEndKeys{LFDI: strings.Repeat("4B", 20), SigningKey: newKey(t).Public().(ed25519.PublicKey)}
	r.g.onFeedback(r.notice(r.heKey, from(answer.LFDI), reject(k3)))
	r.expectAlerts(3)
	r.expectUnsettled(k3)
	if r.g.headend.LFDI != renewed {
		t.Fatalf("the head-end is %s, want %s", r.g.headend.LFDI, renewed)
	}
}

func TestMalformedFeedbackAlerts(t *testing.T) {
	r := newRig(t)
	k, rec := r.submit(1)
	valid := r.answer(r.log, 0, r.append(r.log, []spool.Key{k}, rec)...)
	bad := [][]byte{nil, {0xff}, []byte("not cbor"), valid[:len(valid)/2],
		marshal(t, &feedback.Message{Items: []feedback.Item{{Meter: k.Meter, Counter: 1, Status: 1, Leaf: make([]byte, 31)}}}),
		marshal(t, &feedback.Message{Notice: []byte("not a COSE_Sign1")}),
	}
	for i, b := range bad {
		r.g.onFeedback(b)
		r.expectAlerts(i + 1)
	}
	r.expectUnsettled(k)
}

// FuzzOnFeedback: no input panics, and none acknowledges more than was sent
// or stores a receipt that does not prove the gateway's own record.
func FuzzOnFeedback(f *testing.F) {
	r := newRig(f)
	k1, rec1 := r.submit(1)
	k2, rec2 := r.submit(2)
	items := r.append(r.log, []spool.Key{k1, k2}, rec1, rec2)
	f.Add(r.answer(r.log, 0, items...))
	f.Add(r.answer(r.log, 0, items[1]))
	f.Add(r.notice(r.heKey, r.noticeHeader(), feedback.Rejection{Meter: k1.Meter, Counter: 1, Reason: "replay"}))
	f.Add([]byte{0xa1, 0x06, 0x01})
	f.Add([]byte{})
	records := map[spool.Key][]byte{k1: rec1, k2: rec2}

	f.Fuzz(func(t *testing.T, data []byte) {
		r.g.onFeedback(data)
		if st := r.g.Stats(); st.Accepted+st.Rejected > uint64(len(records)) {
			t.Fatalf("settled %d accepted + %d rejected of %d spooled", st.Accepted, st.Rejected, len(records))
		}
		for k, rec := range records {
			e, err := r.sp.Get(context.Background(), gwLFDI, k)
			if err != nil {
				t.Fatal(err)
			}
			if !e.Acked || e.Rejected != "" {
				continue
			}
			rc, err := ledger.DecodeReceipt(e.Receipt)
			if err != nil {
				t.Fatalf("stored receipt: %v", err)
			}
			if _, err := ledger.VerifyReceipt(r.g.verifier, testOrigin, rec, rc); err != nil {
				t.Fatalf("acknowledged on a receipt that does not prove our record: %v", err)
			}
		}
	})
}

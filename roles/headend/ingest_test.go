package headend

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/usapp/usapp/comms/envelope"
	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/computing/feedback"
	"github.com/usapp/usapp/computing/ledger"
)

// verifyItems checks every receipt of a route against the records sent, as a
// gateway does.
func verifyItems(t *testing.T, f *fixture, m *feedback.Message, sent map[uint64][]byte) {
	t.Helper()
	v, err := ledger.NewVerifier(testOrigin, f.heKey.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range m.Items {
		proof := make(tlog.RecordProof, len(it.Proof))
		for i := range it.Proof {
			copy(proof[i][:], it.Proof[i])
		}
		rc := ledger.Receipt{Index: it.Index, Checkpoint: m.Checkpoint, Proof: proof}
		copy(rc.Leaf[:], it.Leaf)
		if _, err := ledger.VerifyReceipt(v, testOrigin, sent[it.Counter], rc); err != nil {
			t.Fatalf("receipt for counter %d does not verify: %v", it.Counter, err)
		}
	}
}

func TestAcceptedReadingsAreStoredLoggedAndProven(t *testing.T) {
	f := newFixture(t, "")
	homes := []*testHome{f.home("a"), f.home("b"), f.home("c")}
	var batch []Inbound
	sent := map[string]map[uint64][]byte{}
	for _, h := range homes {
		sent[h.gw] = map[uint64][]byte{}
		for range 2 {
			in, r := h.reading()
			batch = append(batch, in)
			sent[h.gw][r.Counter] = r.Signed
		}
	}
	fb := f.ingest(batch...)
	if got := f.count(); got != 6 {
		t.Fatalf("stored %d readings, want 6", got)
	}
	for _, h := range homes {
		m := fb[h.gw]
		if m == nil || len(m.Items) != 2 || m.Notice != nil {
			t.Fatalf("feedback for %s: %+v", h.gw, m)
		}
		for _, it := range m.Items {
			if it.Status != feedback.Accepted {
				t.Fatalf("status %d", it.Status)
			}
		}
		verifyItems(t, f, m, sent[h.gw])
	}
	if s := f.ing.Stats(); s.Accepted != 6 || s.Rejected != 0 || s.LogSize != 6 {
		t.Fatalf("stats %+v", s)
	}
}

func TestTamperedReadingIsRejected(t *testing.T) {
	f := newFixture(t, "")
	h := f.home("a")

	in, _ := h.reading()
	in.Data = append([]byte(nil), in.Data...)
	in.Data[len(in.Data)-5] ^= 1 // inside the AEAD ciphertext
	fb := f.ingest(in)
	if rs := f.rejections(fb, h.gw); len(rs) != 1 || rs[0].Reason != "decrypt" {
		t.Fatalf("ciphertext tamper: %+v", rs)
	}

	// A gateway (or anyone holding a session) re-seals a register whose
	// signed bytes it altered: the meter's signature catches it.
	_, r := h.reading()
	signed := append([]byte(nil), r.Signed...)
	signed[len(signed)-70] ^= 1 // inside the payload, before the 64-byte signature
	sealed, err := h.session.Seal(signed)
	if err != nil {
		t.Fatal(err)
	}
	fb = f.ingest(Inbound{Route: h.gw, Data: sealed, Meter: r.Register.Meter, Counter: r.Counter})
	rs := f.rejections(fb, h.gw)
	if len(rs) != 1 || (rs[0].Reason != "bad_signature" && rs[0].Reason != "malformed") {
		t.Fatalf("payload tamper: %+v", rs)
	}
	if f.count() != 0 {
		t.Fatalf("a tampered reading was stored")
	}
	if s := f.ing.Stats(); s.Rejected != 2 {
		t.Fatalf("rejections not counted: %+v", s)
	}
}

func TestReplayIsNeverStoredTwice(t *testing.T) {
	f := newFixture(t, "")
	h := f.home("a")
	in, r := h.reading()
	f.ingest(in)

	// The exact message again (a gateway retransmission, or an attacker's
	// replay): not stored again, answered with the stored copy's receipt.
	fb := f.ingest(in)
	if m := fb[h.gw]; m == nil || len(m.Items) != 1 || m.Items[0].Status != feedback.Duplicate {
		t.Fatalf("replay answer %+v", fb[h.gw])
	}
	verifyItems(t, f, fb[h.gw], map[uint64][]byte{r.Counter: r.Signed})

	// The same counter with other content: a meter clone or a forged
	// rollback. Rejected.
	h.meter = meterWithCounter(t, f, h, r.Counter-1)
	again, _ := h.reading()
	fb = f.ingest(again)
	if rs := f.rejections(fb, h.gw); len(rs) != 1 || rs[0].Reason != "replay" {
		t.Fatalf("counter reuse: %+v", rs)
	}

	// An old message replayed after the freshness window.
	old, _ := h.reading()
	f.clk.Set(t0.Add(8 * 24 * time.Hour))
	fb = f.ingest(old)
	if rs := f.rejections(fb, h.gw); len(rs) != 1 || rs[0].Reason != "stale" {
		t.Fatalf("stale replay: %+v", rs)
	}
	if f.count() != 1 {
		t.Fatalf("stored %d readings, want 1", f.count())
	}
	if s := f.ing.Stats(); s.Duplicates != 1 || s.ByReason["replay"] != 1 || s.ByReason["stale"] != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestUnknownExpiredAndRevokedSendersAreRejected(t *testing.T) {
	f := newFixture(t, "")

	unknown := f.homeBoundTo("ghost", f.home("g").gw, false)
	in, _ := unknown.reading()
	if rs := f.rejections(f.ingest(in), unknown.gw); len(rs) != 1 || rs[0].Reason != "unknown_sender" {
		t.Fatalf("unknown: %+v", rs)
	}

	foreign := f.home("foreign")
	other := newCA(t, t0.Add(-time.Hour))
	_, mk, _ := ed25519.GenerateKey(nil)
	fc, err := other.Issue("meter", "foreign-meter", foreign.gw, mk.Public(), t0.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	f.src.add(fc) // the directory is fooled; the chain check is not
	foreign.meter = meterFor(fc, mk, f)
	in, _ = foreign.reading()
	if rs := f.rejections(f.ingest(in), foreign.gw); len(rs) != 1 || rs[0].Reason != "unknown_sender" {
		t.Fatalf("foreign CA: %+v", rs)
	}

	revoked := f.home("revoked")
	in, _ = revoked.reading()
	f.ingest(in)
	if err := f.ca.Revoke(revoked.meterCert.SerialNumber, f.clk.Now()); err != nil {
		t.Fatal(err)
	}
	f.refreshCRL()
	in, _ = revoked.reading()
	if rs := f.rejections(f.ingest(in), revoked.gw); len(rs) != 1 || rs[0].Reason != "revoked" {
		t.Fatalf("revoked: %+v", rs)
	}

	expired := f.home("expired")
	in, _ = expired.reading()
	f.ingest(in)
	f.clk.Set(expired.meterCert.NotAfter.Add(time.Hour))
	in, _ = expired.reading()
	if rs := f.rejections(f.ingest(in), expired.gw); len(rs) != 1 || rs[0].Reason != "expired" {
		t.Fatalf("expired: %+v", rs)
	}
	if f.count() != 2 {
		t.Fatalf("stored %d, want only the 2 readings sent while valid", f.count())
	}
}

func TestGatewayCannotForwardAnotherHomesMeterOrRoute(t *testing.T) {
	f := newFixture(t, "")
	a, b := f.home("a"), f.home("b")

	// Gateway a seals meter b's register under its own session: the meter is
	// not bound to gateway a.
	_, r := b.reading()
	sealed, err := a.session.Seal(r.Signed)
	if err != nil {
		t.Fatal(err)
	}
	fb := f.ingest(Inbound{Route: a.gw, Data: sealed, Meter: r.Register.Meter, Counter: r.Counter})
	if rs := f.rejections(fb, a.gw); len(rs) != 1 || rs[0].Reason != "binding" {
		t.Fatalf("binding: %+v", rs)
	}
	// A message sealed by gateway b but published under a's identity.
	in, _ := b.reading()
	in.Route = a.gw
	if rs := f.rejections(f.ingest(in), a.gw); len(rs) != 1 || rs[0].Reason != "route" {
		t.Fatalf("route: %+v", rs)
	}
	if f.count() != 0 {
		t.Fatal("a misrouted reading was stored")
	}
}

func TestMalformedInputGetsATypedRejection(t *testing.T) {
	f := newFixture(t, "")
	h := f.home("a")
	for name, data := range map[string][]byte{"empty": nil, "garbage": []byte("not cbor at all"), "map": {0xa1, 0x01, 0x01}} {
		fb := f.ingest(Inbound{Route: h.gw, Data: data})
		rs := f.rejections(fb, h.gw)
		if len(rs) != 1 || rs[0].Reason != "malformed" && rs[0].Reason != "version" {
			t.Errorf("%s: %+v", name, rs)
		}
	}
	if f.count() != 0 {
		t.Fatal("malformed input was stored")
	}
}

// A crash after the store commits but before the bus acknowledgement makes
// the bus deliver the batch again, to a new head-end process: each reading
// must still be stored, logged and billed once.
func TestRedeliveryAfterRestartBillsOnce(t *testing.T) {
	f := newFixture(t, "")
	h := f.home("a")
	var batch []Inbound
	var total int64
	for range 48 {
		in, r := h.reading()
		batch = append(batch, in)
		total += r.Register.EnergyWh
	}
	f.ingest(batch[:30]...)
	f.store.Close()
	f.start() // a new process on the same database
	fb := f.ingest(batch...)
	if f.count() != 48 || f.ing.Stats().LogSize != 48 {
		t.Fatalf("stored %d, log %d; want 48", f.count(), f.ing.Stats().LogSize)
	}
	dups := 0
	for _, it := range fb[h.gw].Items {
		if it.Status == feedback.Duplicate {
			dups++
		}
	}
	if dups != 30 {
		t.Fatalf("%d duplicates, want 30", dups)
	}
	bills, err := ComputeBills(context.Background(), f.store, defaultTariff(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(bills) != 1 || bills[0].EnergyWh != total || bills[0].Registers != 48 {
		t.Fatalf("bill %+v, want %d Wh over 48 registers", bills, total)
	}
}

// Each answer to a route proves the log grew from the checkpoint the route
// was last answered with, so a gateway can always check consistency.
func TestAnswersCarryConsistencyFromLastAnswer(t *testing.T) {
	f := newFixture(t, "")
	h, other := f.home("a"), f.home("b")
	in, _ := h.reading()
	first := f.ingest(in)
	v, _ := ledger.NewVerifier(testOrigin, f.heKey.Public().(ed25519.PublicKey))
	cp1, err := ledger.ParseCheckpoint(first[h.gw].Checkpoint, v)
	if err != nil {
		t.Fatal(err)
	}
	in2, _ := other.reading() // the log grows by another home's reading
	in3, _ := h.reading()
	second := f.ingest(in2, in3)
	m := second[h.gw]
	cp2, err := ledger.ParseCheckpoint(m.Checkpoint, v)
	if err != nil {
		t.Fatal(err)
	}
	hashes, ok := m.ProofFrom(cp1.Size)
	if !ok {
		t.Fatalf("no consistency proof from size %d: %+v", cp1.Size, m.Proofs)
	}
	proof := make(tlog.TreeProof, len(hashes))
	for i := range hashes {
		copy(proof[i][:], hashes[i])
	}
	if err := tlog.CheckTree(proof, cp2.Size, cp2.Hash, cp1.Size, cp1.Hash); err != nil {
		t.Fatalf("consistency proof %d -> %d does not verify: %v", cp1.Size, cp2.Size, err)
	}
}

// A meter that renews its certificate (same key) before expiry keeps its
// identity: its readings are accepted after the first certificate expires,
// and billed under the same meter.
func TestRenewedMeterKeepsBilling(t *testing.T) {
	f := newFixture(t, "")
	h := f.home("a")
	in, _ := h.reading()
	f.ingest(in)
	h.renew(h.key, h.meterCert.NotAfter.Add(-24*time.Hour))
	f.clk.Set(h.meterCert.NotAfter.Add(time.Hour)) // the first certificate has expired
	in, _ = h.reading()
	if rs := f.rejections(f.ingest(in), h.gw); len(rs) != 0 {
		t.Fatalf("renewed meter rejected: %+v", rs)
	}
	h.wantBilled(2)
}

// renew renews h's meter certificate at at for key and files it in the
// directory, as the CA does.
func (h *testHome) renew(key ed25519.PrivateKey, at time.Time) {
	t := h.f.t
	csr, err := pki.NewEd25519CSR(key, "ignored")
	if err != nil {
		t.Fatal(err)
	}
	renewed, err := h.f.ca.Renew(h.meterCert, csr, at)
	if err != nil {
		t.Fatal(err)
	}
	h.f.src.add(renewed)
}

// wantBilled checks that the store bills h's meter, under one identity, for
// n registers.
func (h *testHome) wantBilled(n int) {
	t := h.f.t
	t.Helper()
	bills, err := ComputeBills(context.Background(), h.f.store, defaultTariff(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(bills) != 1 || bills[0].Registers != n || bills[0].Meter != h.meter.LFDI() {
		t.Fatalf("bills %+v, want %d registers under one meter", bills, n)
	}
}

// A meter that renews with a new key keeps billing: the first reading signed
// with the new key makes the resolver read the directory again (one read for
// the burst), a reading signed with the old key before the renewal and
// delivered after it is still accepted, and once the old certificate has
// expired the old key signs nothing more.
func TestMeterRenewedWithANewKeyKeepsBilling(t *testing.T) {
	f := newFixture(t, "")
	h := f.home("a")
	in, _ := h.reading()
	f.ingest(in)

	renewAt := h.meterCert.NotAfter.Add(-24 * time.Hour)
	f.clk.Set(renewAt)
	spooled, _ := h.reading() // signed with the old key, delivered late
	_, newKey, _ := ed25519.GenerateKey(rand.Reader)
	h.renew(newKey, renewAt)
	h.meter.Rekey(newKey)
	fresh, _ := h.reading()
	before := f.src.fetches
	for _, in := range []Inbound{fresh, spooled} {
		if rs := f.rejections(f.ingest(in), h.gw); len(rs) != 0 {
			t.Fatalf("reading %d around the renewal rejected: %+v", in.Counter, rs)
		}
	}
	if n := f.src.fetches - before; n != 1 {
		t.Fatalf("%d directory reads for the renewal, want 1", n)
	}

	f.clk.Set(h.meterCert.NotAfter.Add(time.Hour)) // the old certificate has expired
	later, _ := h.reading()
	h.meter.Rekey(h.key)
	stale, _ := h.reading()
	rs := f.rejections(f.ingest(later, stale), h.gw)
	if len(rs) != 1 || rs[0].Counter != stale.Counter || rs[0].Reason != envelope.Reason(envelope.ErrBadSignature) {
		t.Fatalf("rejections %+v, want the old key's reading after expiry as a bad signature", rs)
	}
	h.wantBilled(4)
}

// Forged signatures for a known meter make the resolver read the directory
// again at most once per refreshGap, so they cannot become a flood of CA
// look-ups; every one is rejected.
func TestForgedSignaturesDoNotFloodTheDirectory(t *testing.T) {
	f := newFixture(t, "")
	h := f.home("a")
	in, _ := h.reading()
	f.ingest(in)
	_, forger, _ := ed25519.GenerateKey(rand.Reader)
	h.meter.Rekey(forger)
	before, began := f.src.fetches, time.Now()
	const forged = 20
	for range forged {
		in, _ := h.reading()
		if rs := f.rejections(f.ingest(in), h.gw); len(rs) != 1 || rs[0].Reason != envelope.Reason(envelope.ErrBadSignature) {
			t.Fatalf("forged reading: rejections %+v", rs)
		}
	}
	allowed := 1 + int(time.Since(began)/refreshGap)
	if n := f.src.fetches - before; n > allowed || n > forged/2 {
		t.Fatalf("%d directory reads for %d forged readings, want at most %d", n, forged, allowed)
	}
}

// While the CA's directory does not answer, a reading whose sender needs a
// look-up (a sender not seen yet, or one signing with a key it has renewed
// to) is neither stored nor rejected: it gets no answer, so the gateway's
// spool sends it again, and it is billed once the directory is back. Senders
// already verified keep billing meanwhile, and the directory is not asked
// again until downBackoff has passed.
func TestUnreachableDirectoryDefersReadings(t *testing.T) {
	f := newFixture(t, "")
	known, renewing, fresh := f.home("known"), f.home("renewing"), f.home("fresh")
	for _, h := range []*testHome{known, renewing} {
		in, _ := h.reading()
		f.ingest(in)
	}
	_, newKey, _ := ed25519.GenerateKey(rand.Reader)
	renewing.renew(newKey, f.clk.Now())
	renewing.meter.Rekey(newKey)

	f.src.mu.Lock()
	f.src.down = errors.New("connection refused")
	f.src.mu.Unlock()
	var held []Inbound
	for _, h := range []*testHome{renewing, fresh, renewing, fresh} {
		in, _ := h.reading()
		held = append(held, in)
	}
	steady, _ := known.reading()
	before := f.src.fetches
	fb := f.ingest(append(held, steady)...)
	for _, h := range []*testHome{renewing, fresh} {
		if rs := f.rejections(fb, h.gw); len(rs) != 0 || fb[h.gw] != nil && len(fb[h.gw].Items) != 0 {
			t.Fatalf("%s answered while the directory is down: %+v", h.gw, fb[h.gw])
		}
	}
	if st := f.ing.Stats(); st.Deferred != uint64(len(held)) || st.Rejected != 0 || st.Accepted != 3 {
		t.Fatalf("stats %+v, want %d deferred, none rejected, 3 accepted", st, len(held))
	}
	if n := f.src.fetches - before; n != 1 {
		t.Fatalf("%d directory look-ups while it is down, want 1 (then the back-off)", n)
	}

	f.src.mu.Lock()
	f.src.down = nil
	f.src.mu.Unlock()
	f.resolver.mu.Lock()
	f.resolver.downUntil = time.Time{} // as when downBackoff has passed
	f.resolver.mu.Unlock()
	fb = f.ingest(held...) // the gateways' retransmissions
	for _, h := range []*testHome{renewing, fresh} {
		if rs := f.rejections(fb, h.gw); len(rs) != 0 || len(fb[h.gw].Items) != 2 {
			t.Fatalf("%s after the directory is back: rejections %+v, answer %+v", h.gw, rs, fb[h.gw])
		}
	}
	if n := f.count(); n != 7 {
		t.Fatalf("%d readings stored, want 7", n)
	}
}

// The CA re-signs its CRL every minute whether or not anything was revoked.
// A re-signed list with the same revocations keeps the verified senders: no
// directory look-up for their next readings. A list with a new revocation
// forgets them, so the revoked sender is refused on its next message.
func TestUnchangedCRLKeepsVerifiedSenders(t *testing.T) {
	f := newFixture(t, "")
	h, other := f.home("a"), f.home("b")
	for _, x := range []*testHome{h, other} {
		in, _ := x.reading()
		f.ingest(in)
	}
	before := f.src.fetches
	f.clk.Advance(time.Minute)
	f.refreshCRL()
	in, _ := h.reading()
	if rs := f.rejections(f.ingest(in), h.gw); len(rs) != 0 {
		t.Fatalf("after a re-signed CRL: %+v", rs)
	}
	if n := f.src.fetches - before; n != 0 {
		t.Fatalf("%d directory look-ups after a CRL that revokes nothing new, want 0", n)
	}
	if err := f.ca.Revoke(other.meterCert.SerialNumber, f.clk.Now()); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(time.Minute)
	f.refreshCRL()
	in, _ = other.reading()
	if rs := f.rejections(f.ingest(in), other.gw); len(rs) != 1 || rs[0].Reason != "revoked" {
		t.Fatalf("revoked after a CRL with its revocation: %+v", rs)
	}
}

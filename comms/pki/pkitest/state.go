// Package pkitest checks that an implementation of pki.State keeps the
// promises the CA relies on (A1.enrolment: a token enrols once; serials are
// never reused; A1.revocation: a revocation is never lost or moved), so that
// every backend (memory, file, SQLite, PostgreSQL) is held to the same
// contract by the same test.
package pkitest

import (
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"math/big"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/usapp/usapp/comms/pki"
)

// Backend opens states for the suite. Open returns a fresh, empty state;
// Reopen, when not nil, returns a second state over the storage Open used
// last, as a restarted process would.
type Backend struct {
	Open   func(t *testing.T) pki.State
	Reopen func(t *testing.T) pki.State
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func hash(s string) [32]byte { return sha256.Sum256([]byte(s)) }

// TestState runs the contract's checks as subtests of t.
func TestState(t *testing.T, b Backend) {
	t.Run("tokens", func(t *testing.T) { tokens(t, b.Open(t)) })
	t.Run("token race", func(t *testing.T) { tokenRace(t, b.Open(t)) })
	t.Run("token retention", func(t *testing.T) { retention(t, b.Open(t)) })
	t.Run("serials", func(t *testing.T) { serials(t, b.Open(t)) })
	t.Run("revocations", func(t *testing.T) { revocations(t, b.Open(t)) })
	t.Run("expired revocations", func(t *testing.T) { expiredRevocations(t, b.Open(t)) })
	if b.Reopen != nil {
		t.Run("restart", func(t *testing.T) { restart(t, b) })
	}
}

func tokens(t *testing.T, st pki.State) {
	rec := pki.TokenRecord{Role: pki.RoleMeter, Name: "m1", Gateway: "AB12", Expires: t0.Add(time.Hour)}
	if err := st.PutToken(hash("a"), rec); err != nil {
		t.Fatal(err)
	}
	if err := st.PutToken(hash("a"), rec); !errors.Is(err, pki.ErrInvalid) {
		t.Fatalf("second PutToken of one hash: %v, want ErrInvalid", err)
	}
	if err := st.PutToken(hash("b"), pki.TokenRecord{Role: pki.RoleGateway, Name: "g", Expires: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	got, err := st.ConsumeToken(hash("a"), t0)
	if err != nil {
		t.Fatal(err)
	}
	if got.Role != rec.Role || got.Name != rec.Name || got.Gateway != rec.Gateway || !got.Expires.Equal(rec.Expires) || !got.Used {
		t.Fatalf("ConsumeToken = %+v, want %+v used", got, rec)
	}
	if _, err := st.ConsumeToken(hash("a"), t0); !errors.Is(err, pki.ErrTokenUsed) {
		t.Fatalf("second ConsumeToken: %v, want ErrTokenUsed", err)
	}
	if _, err := st.ConsumeToken(hash("b"), t0.Add(time.Minute)); !errors.Is(err, pki.ErrTokenExpired) {
		t.Fatalf("ConsumeToken at expiry: %v, want ErrTokenExpired", err)
	}
	if _, err := st.ConsumeToken(hash("never"), t0); !errors.Is(err, pki.ErrTokenUnknown) {
		t.Fatalf("ConsumeToken of an unknown token: %v, want ErrTokenUnknown", err)
	}
}

// tokenRace: of concurrent consumers of one token exactly one wins.
func tokenRace(t *testing.T, st pki.State) {
	if err := st.PutToken(hash("race"), pki.TokenRecord{Role: pki.RoleMeter, Name: "m", Expires: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	const n = 12
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { _, errs[i] = st.ConsumeToken(hash("race"), t0) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, pki.ErrTokenUsed):
			t.Fatalf("concurrent ConsumeToken: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d consumers won one token, want 1", won)
	}
}

// retention: a token is remembered for pki.TokenRetention after it expired,
// then forgotten (refused all the same, as unknown).
func retention(t *testing.T, st pki.State) {
	if err := st.PutToken(hash("old"), pki.TokenRecord{Role: pki.RoleMeter, Name: "m", Expires: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ConsumeToken(hash("old"), t0.Add(pki.TokenRetention)); !errors.Is(err, pki.ErrTokenExpired) {
		t.Fatalf("within retention: %v, want ErrTokenExpired", err)
	}
	if _, err := st.ConsumeToken(hash("old"), t0.Add(pki.TokenRetention+time.Second)); !errors.Is(err, pki.ErrTokenUnknown) {
		t.Fatalf("after retention: %v, want ErrTokenUnknown", err)
	}
}

// serials are positive and never repeat, also when drawn concurrently.
func serials(t *testing.T, st pki.State) {
	const n = 40
	got := make([]*big.Int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s, err := st.NextSerial()
			if err != nil {
				t.Error(err)
				return
			}
			got[i] = s
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, s := range got {
		if s == nil || s.Sign() <= 0 || seen[s.String()] {
			t.Fatalf("serials %v: each must be positive and new", got)
		}
		seen[s.String()] = true
	}
}

// revocations keep their first time and come back ordered by value: 0x2
// before 0xa before 0x10, which a string order would get wrong.
func revocations(t *testing.T, st pki.State) {
	for _, r := range []struct {
		serial int64
		at     time.Time
	}{{16, t0}, {2, t0.Add(time.Hour)}, {10, t0.Add(2 * time.Hour)}, {2, t0.Add(3 * time.Hour)}} {
		if err := st.Revoke(big.NewInt(r.serial), r.at); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Revoke(big.NewInt(0), t0); !errors.Is(err, pki.ErrInvalid) {
		t.Fatalf("Revoke(0): %v, want ErrInvalid", err)
	}
	got, err := st.Revoked(time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	want := []x509.RevocationListEntry{
		{SerialNumber: big.NewInt(2), RevocationTime: t0.Add(time.Hour)},
		{SerialNumber: big.NewInt(10), RevocationTime: t0.Add(2 * time.Hour)},
		{SerialNumber: big.NewInt(16), RevocationTime: t0},
	}
	if !slices.EqualFunc(got, want, func(a, b x509.RevocationListEntry) bool {
		return a.SerialNumber.Cmp(b.SerialNumber) == 0 && a.RevocationTime.Equal(b.RevocationTime)
	}) {
		t.Fatalf("Revoked() = %v, want %v", got, want)
	}
}

// expiredRevocations: with a cutoff, Revoked leaves out the certificates on
// record as expiring before it, and keeps those expiring at or after it and
// the serials with no record.
func expiredRevocations(t *testing.T, st pki.State) {
	for serial, notAfter := range map[int64]time.Time{3: t0.Add(time.Hour), 4: t0.Add(2 * time.Hour), 5: t0.Add(3 * time.Hour)} {
		cert := &x509.Certificate{SerialNumber: big.NewInt(serial), NotAfter: notAfter, Raw: []byte{byte(serial)}}
		if err := st.RecordIssued(cert); err != nil {
			t.Fatal(err)
		}
	}
	for _, serial := range []int64{3, 4, 5, 6} { // 6: no record
		if err := st.Revoke(big.NewInt(serial), t0); err != nil {
			t.Fatal(err)
		}
	}
	serials := func(cutoff time.Time) (out []int64) {
		t.Helper()
		got, err := st.Revoked(cutoff)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range got {
			out = append(out, e.SerialNumber.Int64())
		}
		return out
	}
	for cutoff, want := range map[time.Time][]int64{
		{}:                     {3, 4, 5, 6},
		t0:                     {3, 4, 5, 6},
		t0.Add(2 * time.Hour):  {4, 5, 6},
		t0.Add(time.Hour * 24): {6},
	} {
		if got := serials(cutoff); !slices.Equal(got, want) {
			t.Errorf("Revoked(%v) = %v, want %v", cutoff, got, want)
		}
	}
}

// restart: a reopened state remembers used tokens, serials and revocations.
func restart(t *testing.T, b Backend) {
	st := b.Open(t)
	if err := st.PutToken(hash("used"), pki.TokenRecord{Role: pki.RoleMeter, Name: "m", Expires: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutToken(hash("fresh"), pki.TokenRecord{Role: pki.RoleMeter, Name: "n", Expires: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ConsumeToken(hash("used"), t0); err != nil {
		t.Fatal(err)
	}
	last, err := st.NextSerial()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Revoke(last, t0); err != nil {
		t.Fatal(err)
	}

	st2 := b.Reopen(t)
	if _, err := st2.ConsumeToken(hash("used"), t0); !errors.Is(err, pki.ErrTokenUsed) {
		t.Fatalf("used token after restart: %v, want ErrTokenUsed", err)
	}
	if rec, err := st2.ConsumeToken(hash("fresh"), t0); err != nil || rec.Name != "n" {
		t.Fatalf("fresh token after restart: %+v %v", rec, err)
	}
	if next, err := st2.NextSerial(); err != nil || next.Cmp(last) <= 0 {
		t.Fatalf("serial after restart %v (%v), want above %v", next, err, last)
	}
	if rev, err := st2.Revoked(time.Time{}); err != nil || len(rev) != 1 || rev[0].SerialNumber.Cmp(last) != 0 {
		t.Fatalf("revocations after restart: %v %v", rev, err)
	}
}

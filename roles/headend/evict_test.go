package headend

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"log/slog"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/usapp/usapp/comms/pki"
)

// serialMap is a CA directory by serial held in memory.
type serialMap struct {
	mu      sync.Mutex
	m       map[string]*x509.Certificate
	down    error
	lookups int
}

func (s *serialMap) CertificateBySerial(_ context.Context, serial *big.Int) (*x509.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lookups++
	if s.down != nil {
		return nil, s.down
	}
	if c, ok := s.m[serial.Text(16)]; ok {
		return c, nil
	}
	return nil, ErrUnknownCert
}

func (s *serialMap) setDown(err error) {
	s.mu.Lock()
	s.down = err
	s.mu.Unlock()
}

func digestOf(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// The revoked set holds the digest of each revoked certificate the
// directory names, and nothing the directory answers wrongly; a directory
// that is down delays the look-up to the next refresh, and a settled serial
// is not looked up again.
func TestRevokedCertificatesFollowTheCRL(t *testing.T) {
	ca := newCA(t, t0.Add(-time.Hour))
	issue := func(name string) *x509.Certificate {
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		c, err := ca.Issue(pki.RoleGateway, name, "", pub, t0)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	bad, good, lie, late, gone := issue("bad"), issue("good"), issue("lie"), issue("late"), issue("gone")
	src := &serialMap{m: map[string]*x509.Certificate{
		bad.SerialNumber.Text(16):  bad,
		lie.SerialNumber.Text(16):  good, // a directory answering a revoked serial with a good certificate
		late.SerialNumber.Text(16): late,
	}}
	v := pki.NewVerifier(ca.Certificate())
	revoke := func(at time.Time, cs ...*x509.Certificate) {
		t.Helper()
		for _, c := range cs {
			if err := ca.Revoke(c.SerialNumber, at); err != nil {
				t.Fatal(err)
			}
		}
		der, err := ca.CRL(at)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.SetCRL(der, at); err != nil {
			t.Fatal(err)
		}
	}
	revoke(t0, bad, lie, gone)
	r := NewRevokedCertificates(v, src, slog.New(slog.DiscardHandler))
	if err := r.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	for c, want := range map[*x509.Certificate]bool{bad: true, good: false, lie: false, late: false, gone: false} {
		if got := r.Revoked(digestOf(c)); got != want {
			t.Errorf("%s: Revoked = %v, want %v", c.Subject.CommonName, got, want)
		}
	}

	down := errors.New("directory down")
	src.setDown(down)
	revoke(t0.Add(time.Minute), late)
	if err := r.Refresh(context.Background()); !errors.Is(err, down) {
		t.Fatalf("refresh with the directory down: %v", err)
	}
	if r.Revoked(digestOf(late)) {
		t.Fatal("learnt a certificate the directory did not answer")
	}
	src.setDown(nil)
	if err := r.Refresh(context.Background()); err != nil || !r.Revoked(digestOf(late)) {
		t.Fatalf("after the directory is back: Revoked(late) = %v, err %v", r.Revoked(digestOf(late)), err)
	}
	src.mu.Lock()
	before := src.lookups
	src.mu.Unlock()
	if err := r.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if src.lookups != before {
		t.Fatalf("a refresh with nothing new looked up %d serials", src.lookups-before)
	}
}

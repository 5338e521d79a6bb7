package headend

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/internal/testnet"
	"github.com/usapp/usapp/platform/bus"
	"github.com/usapp/usapp/platform/bus/bustest"
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
	r := NewRevokedCertificates(v, src, slog.New(slog.DiscardHandler))
	if err := r.Refresh(context.Background()); err != nil || r.any() {
		t.Fatalf("nothing revoked yet: any = %v, err %v; Evict would sweep for nothing", r.any(), err)
	}
	revoke(t0, bad, lie, gone)
	if err := r.Refresh(context.Background()); err != nil || !r.any() {
		t.Fatalf("after revocations: any = %v, err %v", r.any(), err)
	}
	for c, want := range map[*x509.Certificate]bool{bad: true, good: false, lie: false, late: false, gone: false} {
		if got := r.Revoked(bus.CertDigest(c)); got != want {
			t.Errorf("%s: Revoked = %v, want %v", c.Subject.CommonName, got, want)
		}
	}

	down := errors.New("directory down")
	src.setDown(down)
	revoke(t0.Add(time.Minute), late)
	if err := r.Refresh(context.Background()); !errors.Is(err, down) {
		t.Fatalf("refresh with the directory down: %v", err)
	}
	if r.Revoked(bus.CertDigest(late)) {
		t.Fatal("learnt a certificate the directory did not answer")
	}
	src.setDown(nil)
	if err := r.Refresh(context.Background()); err != nil || !r.Revoked(bus.CertDigest(late)) {
		t.Fatalf("after the directory is back: Revoked(late) = %v, err %v", r.Revoked(bus.CertDigest(late)), err)
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

// On an external server that trusts the CA's root and nothing more, the
// head-end's sweep closes the connection of a device revoked after it
// connected, and leaves a good device's alone.
func TestEvictRevokedDeviceFromAnExternalBus(t *testing.T) {
	now := time.Now()
	ca := newCA(t, now.Add(-time.Hour))
	pool := x509.NewCertPool()
	pool.AddCert(ca.Certificate())
	tlsFor := func(role pki.Role, name string) (*x509.Certificate, *tls.Config) {
		pub, key, _ := ed25519.GenerateKey(rand.Reader)
		c, err := ca.Issue(role, name, "", pub, now)
		if err != nil {
			t.Fatal(err)
		}
		return c, &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool,
			Certificates: []tls.Certificate{{Certificate: [][]byte{c.Raw}, PrivateKey: key, Leaf: c}}}
	}
	_, srvKey, _ := ed25519.GenerateKey(rand.Reader)
	srvCert, err := ca.IssueServer(pki.RoleBus, "bus", []string{"127.0.0.1"}, srvKey.Public(), now)
	if err != nil {
		t.Fatal(err)
	}
	ext := bustest.StartExternal(t, &tls.Config{MinVersion: tls.VersionTLS13, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert,
		Certificates: []tls.Certificate{{Certificate: [][]byte{srvCert.Raw}, PrivateKey: srvKey, Leaf: srvCert}}}, bustest.ExternalConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	device := func(name string) (*x509.Certificate, *bus.Conn) {
		c, cfg := tlsFor(pki.RoleGateway, name)
		conn, err := bus.Connect(ctx, bus.ClientConfig{URL: ext.URL, TLS: cfg, Identity: pki.LFDI(c.Raw), Name: name, Log: bustest.Logger(t)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(conn.Close)
		return c, conn
	}
	bad, badConn := device("bad")
	_, goodConn := device("good")

	if err := ca.Revoke(bad.SerialNumber, now); err != nil {
		t.Fatal(err)
	}
	der, err := ca.CRL(now)
	if err != nil {
		t.Fatal(err)
	}
	v := pki.NewVerifier(ca.Certificate())
	if err := v.SetCRL(der, now); err != nil {
		t.Fatal(err)
	}
	_, headTLS := tlsFor(pki.RoleHeadEnd, "headend")
	sys, err := bus.DialService(ctx, bus.ServiceConfig{URL: ext.URL, TLS: headTLS, NkeySeedFile: ext.SeedFile, Log: bustest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	revoked := NewRevokedCertificates(v, &serialMap{m: map[string]*x509.Certificate{bad.SerialNumber.Text(16): bad}}, bustest.Logger(t))
	ev, err := bus.NewEvictor(bus.EvictorConfig{Conn: sys, Revoked: revoked.Revoked, Log: bustest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	sweeping, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); revoked.Evict(sweeping, ev, 100*time.Millisecond) }()
	testnet.Eventually(t, 10*time.Second, 50*time.Millisecond, func() error {
		if badConn.NC.Stats().Reconnects == 0 {
			return errors.New("the revoked device has not been disconnected")
		}
		return nil
	})
	stop()
	<-done
	if ev.Evicted() == 0 {
		t.Fatal("the evictor counted no closure")
	}
	if n := goodConn.NC.Stats().Reconnects; n != 0 {
		t.Fatalf("the good device was disconnected %d times", n)
	}
}

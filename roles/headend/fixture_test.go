package headend

import (
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/usapp/usapp/comms/envelope"
	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/computing/feedback"
	"github.com/usapp/usapp/platform/store"
	"github.com/usapp/usapp/roles/meter"
	"github.com/usapp/usapp/sim/clock"
	"github.com/usapp/usapp/sim/household"
)

var t0 = time.Date(2026, 6, 8, 0, 0, 0, 0, time.UTC)

const testOrigin = "test.usapp.example/headend"

// mapSource is a CA directory held in memory; while down is set, every
// look-up fails with it, as an unreachable CA's would.
type mapSource struct {
	mu      sync.Mutex
	m       map[string][]*x509.Certificate // newest first
	down    error
	fetches int
}

func (s *mapSource) Certificates(_ context.Context, lfdi string) ([]*x509.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fetches++
	if s.down != nil {
		return nil, s.down
	}
	if cs, ok := s.m[lfdi]; ok {
		return cs, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrUnknownCert, lfdi)
}

// add files c under its device identity, before its predecessors, as the
// CA's directory does on renewal.
func (s *mapSource) add(c *x509.Certificate) {
	id, err := pki.IdentityOf(c)
	if err != nil {
		panic(err)
	}
	s.mu.Lock()
	s.m[id.LFDI] = append([]*x509.Certificate{c}, s.m[id.LFDI]...)
	s.mu.Unlock()
}

type fixture struct {
	t        testing.TB
	clk      *clock.Sim
	ca       *pki.CA
	src      *mapSource
	resolver *Resolver
	store    *store.Store
	ing      *Ingester
	hpke     *ecdh.PrivateKey
	heKey    ed25519.PrivateKey
	heLFDI   string
	dsn      string
	plain    bool // protection off: the benchmark's baseline
	warm     bool // keep verified certificates across start (a running head-end's steady state)
	trace    *household.Trace
}

func newCA(t testing.TB, now time.Time) *pki.CA {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := pki.NewCA("test CA", key, pki.NewMemState(), now, 10*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// newFixture starts an ingester on a fresh SQLite store (or dsn when given).
func newFixture(t testing.TB, dsn string) *fixture {
	f := &fixture{t: t, clk: clock.NewSim(t0), src: &mapSource{m: map[string][]*x509.Certificate{}}, dsn: dsn}
	f.ca = newCA(t, t0.Add(-time.Hour))
	var err error
	if f.dsn == "" {
		f.dsn = filepath.Join(t.TempDir(), "headend.db")
	}
	if f.hpke, err = ecdh.X25519().GenerateKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	_, f.heKey, _ = ed25519.GenerateKey(rand.Reader)
	cert, err := f.ca.Issue(pki.RoleHeadEnd, "headend", "", f.heKey.Public(), t0.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	f.heLFDI = pki.LFDI(cert.Raw)
	if f.trace, err = household.UKDALE(); err != nil {
		t.Fatal(err)
	}
	f.start()
	return f
}

// start opens the store and a new ingester over it, as a restarted head-end does.
func (f *fixture) start() {
	t := f.t
	var err error
	if f.store, err = store.Open(context.Background(), f.dsn, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.store.Close() })
	if f.resolver == nil || !f.warm {
		f.resolver = NewResolver(pki.NewVerifier(f.ca.Certificate()), f.src)
		f.refreshCRL()
	}
	cfg := envelope.OpenerConfig{Key: f.hpke, Keys: f.resolver}
	resolver := f.resolver
	if f.plain {
		cfg, resolver = envelope.OpenerConfig{}, nil
	}
	opener, err := envelope.NewOpener(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.ing, err = NewIngester(context.Background(), IngesterConfig{Opener: opener, Store: f.store, Resolver: resolver,
		Origin: testOrigin, Self: f.heLFDI, Key: f.heKey})
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) refreshCRL() {
	crl, err := f.ca.CRL(f.clk.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.resolver.SetCRL(crl, f.clk.Now()); err != nil {
		f.t.Fatal(err)
	}
}

// testHome is a gateway with one meter, enrolled with the fixture's CA.
type testHome struct {
	f         *fixture
	gw        string
	meterCert *x509.Certificate
	key       ed25519.PrivateKey
	meter     *meter.Meter
	session   *envelope.Session
	next      time.Time
}

func (f *fixture) home(name string) *testHome {
	t := f.t
	_, gk, _ := ed25519.GenerateKey(rand.Reader)
	gc, err := f.ca.Issue(pki.RoleGateway, name+"-gw", "", gk.Public(), t0.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	gw := pki.LFDI(gc.Raw)
	return f.homeBoundTo(name, gw, true)
}

func (f *fixture) homeBoundTo(name, gw string, listed bool) *testHome {
	t := f.t
	_, mk, _ := ed25519.GenerateKey(rand.Reader)
	mc, err := f.ca.Issue(pki.RoleMeter, name+"-meter", gw, mk.Public(), t0.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if listed {
		f.src.add(mc)
	}
	sess, err := envelope.NewSession(f.hpke.PublicKey(), gw)
	if err != nil {
		t.Fatal(err)
	}
	return &testHome{f: f, gw: gw, meterCert: mc, key: mk, meter: meter.New(pki.LFDI(mc.Raw), mk, f.trace, 0), session: sess, next: t0}
}

// reading closes the next register and seals it as the gateway would.
func (h *testHome) reading() (Inbound, meter.Reading) {
	r, err := h.meter.Read(h.next, h.f.clk.Now())
	if err != nil {
		h.f.t.Fatal(err)
	}
	h.next = h.next.Add(30 * time.Minute)
	sealed, err := h.session.Seal(r.Signed)
	if err != nil {
		h.f.t.Fatal(err)
	}
	return Inbound{Route: h.gw, Data: sealed, Meter: r.Register.Meter, Counter: r.Counter}, r
}

func (f *fixture) ingest(batch ...Inbound) map[string]*feedback.Message {
	f.t.Helper()
	fb, err := f.ing.Apply(context.Background(), f.ing.Prepare(batch, f.clk.Now()))
	if err != nil {
		f.t.Fatal(err)
	}
	return fb
}

func (f *fixture) count() int64 {
	n, err := f.store.CountReadings(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// rejections decodes and verifies the signed rejection notice of a route.
func (f *fixture) rejections(fb map[string]*feedback.Message, route string) []feedback.Rejection {
	f.t.Helper()
	m := fb[route]
	if m == nil || m.Notice == nil {
		return nil
	}
	h, body, err := envelope.Verify(m.Notice, f.heKey.Public().(ed25519.PublicKey))
	if err != nil || h.Kind != feedback.RejectionKind || h.Sender != f.heLFDI {
		f.t.Fatalf("notice does not verify: %v %+v", err, h)
	}
	rs, err := feedback.UnmarshalRejections(body)
	if err != nil {
		f.t.Fatal(err)
	}
	return rs
}

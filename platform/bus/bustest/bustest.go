// Package bustest starts a real embedded USaPP bus for tests of other
// packages (A3.bus-access-control, B3.durable-bus): JetStream in t.TempDir(),
// TLS with a throwaway CA made with crypto/x509, and identities issued on
// demand for any role.
//
// The TestCA is also the server's PeerVerifier: it checks the chain against
// its own root, the validity period against the server's clock, and
// revocation against a real X.509 CRL (RFC 5280) it re-signs on each Revoke.
// The identity's role is the certificate's first Subject OU and its LFDI is
// the first 40 hex digits (upper case) of SHA-256 over the certificate DER,
// as in IEEE 2030.5.
//
// A TestCA is safe for concurrent use.
package bustest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/usapp/usapp/platform/bus"
)

// Errors of the test verifier.
var (
	ErrRevoked = errors.New("bustest: certificate revoked")
	ErrNoRole  = errors.New("bustest: certificate has no role")
)

// Run starts an embedded server in t.TempDir() with a fresh test CA and
// returns both; t.Cleanup shuts the server down.
func Run(t testing.TB) (*bus.Server, *TestCA) {
	t.Helper()
	ca := NewCA(t)
	return ca.Start(t, ca.ServerConfig(t)), ca
}

// Logger logs warnings and errors to t's output. It drops what the bus's
// background goroutines log after the test has finished, which t.Output
// would turn into a panic.
func Logger(t testing.TB) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(w.stop)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return len(p), nil
	}
	return w.t.Output().Write(p)
}

func (w *testWriter) stop() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}

// TestCA issues server and client certificates and verifies them.
type TestCA struct {
	key  crypto.Signer
	cert *x509.Certificate
	pool *x509.CertPool

	mu      sync.Mutex
	serial  int64
	url     string
	crl     *x509.RevocationList
	revoked []x509.RevocationListEntry
	checks  int // VerifyPeer calls
}

var (
	_ bus.PeerVerifier = (*TestCA)(nil)
	_ bus.Revisioned   = (*TestCA)(nil)
)

// Revision is the number of revocations so far (bus.Revisioned).
func (ca *TestCA) Revision() uint64 {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	return uint64(len(ca.revoked))
}

// Checks is the number of certificates VerifyPeer has checked.
func (ca *TestCA) Checks() int {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	return ca.checks
}

// NewCA makes a CA with a fresh P-256 key.
func NewCA(t testing.TB) *TestCA {
	t.Helper()
	key := newKey(t)
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "USaPP test CA", Organization: []string{"USaPP test"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	cert := createCert(t, tmpl, tmpl, key.Public(), key)
	ca := &TestCA{key: key, cert: cert, pool: x509.NewCertPool(), serial: 1}
	ca.pool.AddCert(cert)
	ca.signCRL(t)
	return ca
}

// Pool holds the CA certificate.
func (ca *TestCA) Pool() *x509.CertPool { return ca.pool }

// ServerConfig is a ready-to-start bus.ServerConfig: store in a new
// t.TempDir(), a random loopback port, a server certificate for 127.0.0.1
// and localhost, and this CA as ClientCAs and Verifier.
func (ca *TestCA) ServerConfig(t testing.TB) bus.ServerConfig {
	t.Helper()
	key := newKey(t)
	tmpl := ca.template(pkix.Name{CommonName: "usapp-bus", OrganizationalUnit: []string{bus.RoleBus}}, time.Now().Add(24*time.Hour))
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	tmpl.DNSNames = []string{"localhost"}
	cert := createCert(t, tmpl, ca.cert, key.Public(), ca.key)
	return bus.ServerConfig{
		Dir:    t.TempDir(),
		Listen: "127.0.0.1:-1",
		TLS: &tls.Config{
			MinVersion:   tls.VersionTLS13,
			Certificates: []tls.Certificate{{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}},
			ClientCAs:    ca.pool,
			ClientAuth:   tls.RequireAndVerifyClientCert,
		},
		Verifier: ca,
		Log:      Logger(t),
	}
}

// WriteServerFiles writes, for a server's tls block, a server certificate
// like ServerConfig's, its key and this CA's certificate as PEM files in
// dir.
func (ca *TestCA) WriteServerFiles(t testing.TB, dir string) (certFile, keyFile, caFile string) {
	t.Helper()
	pair := ca.ServerConfig(t).TLS.Certificates[0]
	der, err := x509.MarshalPKCS8PrivateKey(pair.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, caFile = filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key"), filepath.Join(dir, "ca.pem")
	for file, blk := range map[string]*pem.Block{
		certFile: {Type: "CERTIFICATE", Bytes: pair.Leaf.Raw},
		keyFile:  {Type: "PRIVATE KEY", Bytes: der},
		caFile:   {Type: "CERTIFICATE", Bytes: ca.cert.Raw},
	} {
		if err := os.WriteFile(file, pem.EncodeToMemory(blk), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile, caFile
}

// Start starts a server from cfg, remembers its URL for Client, and shuts it
// down at t.Cleanup.
func (ca *TestCA) Start(t testing.TB, cfg bus.ServerConfig) *bus.Server {
	t.Helper()
	s, err := bus.StartServer(cfg)
	if err != nil {
		t.Fatalf("bustest: start server: %v", err)
	}
	t.Cleanup(s.Shutdown)
	ca.SetURL(s.ClientURL())
	return s
}

// SetURL sets the URL that Client puts into the configs it returns.
func (ca *TestCA) SetURL(url string) {
	ca.mu.Lock()
	ca.url = url
	ca.mu.Unlock()
}

// Client issues a new identity of role, valid for a day, and returns a
// client config for it (URL of the last started server, TLS trusting this
// CA, Identity and a test Logger set) with the identity itself.
func (ca *TestCA) Client(t testing.TB, role string) (bus.ClientConfig, bus.Identity) {
	t.Helper()
	return ca.ClientValidUntil(t, role, time.Now().Add(24*time.Hour))
}

// ClientValidUntil is Client with a chosen expiry.
func (ca *TestCA) ClientValidUntil(t testing.TB, role string, notAfter time.Time) (bus.ClientConfig, bus.Identity) {
	t.Helper()
	key := newKey(t)
	tmpl := ca.template(pkix.Name{CommonName: "usapp " + role, OrganizationalUnit: []string{role}}, notAfter)
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	cert := createCert(t, tmpl, ca.cert, key.Public(), ca.key)
	id := bus.Identity{LFDI: LFDI(cert), Role: role}
	ca.mu.Lock()
	url := ca.url
	ca.mu.Unlock()
	return bus.ClientConfig{
		URL: url,
		TLS: &tls.Config{
			MinVersion:   tls.VersionTLS13,
			RootCAs:      ca.pool,
			Certificates: []tls.Certificate{{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}},
		},
		Identity: id.LFDI,
		Name:     role + "-" + id.LFDI[:8],
		Log:      Logger(t),
	}, id
}

// LFDI is the first 40 hex digits, upper case, of SHA-256 over the DER.
func LFDI(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return strings.ToUpper(hex.EncodeToString(sum[:20]))
}

// Revoke adds the certificate of the client config to the CRL.
func (ca *TestCA) Revoke(t testing.TB, cfg bus.ClientConfig) {
	t.Helper()
	leaf := cfg.TLS.Certificates[0].Leaf
	ca.mu.Lock()
	ca.revoked = append(ca.revoked, x509.RevocationListEntry{SerialNumber: leaf.SerialNumber, RevocationTime: time.Now()})
	ca.mu.Unlock()
	ca.signCRL(t)
}

// VerifyPeer checks chain, validity at now and the CRL, then reads the role
// from the first OU.
func (ca *TestCA) VerifyPeer(cert *x509.Certificate, now time.Time) (bus.Identity, error) {
	_, err := cert.Verify(x509.VerifyOptions{
		Roots:       ca.pool,
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return bus.Identity{}, fmt.Errorf("bustest: verify: %w", err)
	}
	ca.mu.Lock()
	crl := ca.crl
	ca.checks++
	ca.mu.Unlock()
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
			return bus.Identity{}, ErrRevoked
		}
	}
	if len(cert.Subject.OrganizationalUnit) == 0 {
		return bus.Identity{}, ErrNoRole
	}
	return bus.Identity{LFDI: LFDI(cert), Role: cert.Subject.OrganizationalUnit[0]}, nil
}

// signCRL issues a new CRL over the revoked list and keeps the parsed copy,
// so the verifier reads what a relying party would.
func (ca *TestCA) signCRL(t testing.TB) {
	t.Helper()
	ca.mu.Lock()
	defer ca.mu.Unlock()
	ca.serial++
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    big.NewInt(ca.serial),
		ThisUpdate:                time.Now().Add(-time.Minute),
		NextUpdate:                time.Now().Add(time.Hour),
		RevokedCertificateEntries: ca.revoked,
	}, ca.cert, ca.key)
	if err != nil {
		t.Fatalf("bustest: sign crl: %v", err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatalf("bustest: parse crl: %v", err)
	}
	if err := crl.CheckSignatureFrom(ca.cert); err != nil {
		t.Fatalf("bustest: crl signature: %v", err)
	}
	ca.crl = crl
}

func (ca *TestCA) template(name pkix.Name, notAfter time.Time) *x509.Certificate {
	ca.mu.Lock()
	ca.serial++
	serial := ca.serial
	ca.mu.Unlock()
	return &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      name,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("bustest: key: %v", err)
	}
	return key
}

func createCert(t testing.TB, tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		t.Fatalf("bustest: create certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("bustest: parse certificate: %v", err)
	}
	return cert
}

// BenchReverify times srv.Reverify over its conns open connections, with
// nothing revoked, and reports the time per pass and connections checked per
// second.
func BenchReverify(b *testing.B, srv *bus.Server, conns int) {
	b.Helper()
	b.ResetTimer()
	for b.Loop() {
		if err := srv.Reverify(); err != nil {
			b.Fatal(err)
		}
	}
	perPass := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(perPass*1e3, "ms/pass")
	b.ReportMetric(float64(conns)/perPass, "connections/s")
	if got := srv.Refusals()[bus.RefusedReverify]; got != 0 {
		b.Fatalf("%d connections closed with nothing revoked", got)
	}
}

package ca

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/comms/pki/dbstate"
	"github.com/usapp/usapp/comms/pki/est"
	"github.com/usapp/usapp/computing/keystore"
	"github.com/usapp/usapp/framework"
	"github.com/usapp/usapp/platform/bus"
	"github.com/usapp/usapp/sim/clock"
)

func start(t *testing.T, dir string) *Authority { return startWith(t, dir, clock.Real{}) }

func startWith(t *testing.T, dir string, clk clock.Clock) *Authority {
	t.Helper()
	return startConfig(t, dir, Config{Clock: clk})
}

// startConfig starts a CA in dir/ca from cfg, filling in name, address and keys.
func startConfig(t *testing.T, dir string, cfg Config) *Authority {
	t.Helper()
	ks, err := keystore.Open(filepath.Join(dir, "keys"), []byte("test passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Name, cfg.DataDir, cfg.Listen, cfg.Hosts = "test CA", filepath.Join(dir, "ca"), "127.0.0.1:0", []string{"127.0.0.1"}
	a, err := Open(cfg, ks)
	if err != nil {
		t.Fatal(err)
	}
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	if err := a.Start(key); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Shutdown(context.Background()) })
	return a
}

func client(a *Authority, certs ...tls.Certificate) *est.Client {
	pool := x509.NewCertPool()
	pool.AddCert(a.CA().Certificate())
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: certs, MinVersion: tls.VersionTLS13}}
	return &est.Client{BaseURL: a.URL(), HTTP: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
}

func enrol(t *testing.T, c *est.Client, tok, name string) (*x509.Certificate, ed25519.PrivateKey) {
	t.Helper()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	cert, err := c.Enroll(context.Background(), tok, key, name)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// A gateway enrols, onboards its meter, and the head-end can then resolve
// the meter's certificate by LFDI; a restarted CA keeps its root, its
// directory and the tokens it has seen used.
func TestEnrolOnboardResolveAndRestart(t *testing.T) {
	dir := t.TempDir()
	a := start(t, dir)
	ctx := context.Background()
	tok, err := a.CA().NewToken(pki.RoleGateway, "home-1", "", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	gw, gk := enrol(t, client(a), tok, "home-1")
	mtok, err := client(a, tls.Certificate{Certificate: [][]byte{gw.Raw}, PrivateKey: gk}).MeterToken(ctx, "home-1-meter")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := enrol(t, client(a), mtok, "home-1-meter")
	got, err := client(a).Certificates(ctx, pki.LFDI(m.Raw))
	if err != nil || len(got) != 1 || !got[0].Equal(m) {
		t.Fatalf("directory: %v", err)
	}
	root := a.CA().Certificate()
	a.Shutdown(ctx)

	b := start(t, dir)
	if !b.CA().Certificate().Equal(root) {
		t.Fatal("restarted CA has a new root")
	}
	if got, err := client(b).Certificates(ctx, pki.LFDI(m.Raw)); err != nil || len(got) != 1 || !got[0].Equal(m) {
		t.Fatalf("directory after restart: %v", err)
	}
	if got, err := client(b).CertificateBySerial(ctx, m.SerialNumber); err != nil || !got.Equal(m) {
		t.Fatalf("directory by serial after restart: %v", err)
	}
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := client(b).Enroll(ctx, tok, key, "again"); !errors.Is(err, pki.ErrTokenUsed) {
		t.Fatalf("used token after restart: %v", err)
	}
}

// A revocation another process records in the CA's database (usapp ca
// revoke) is in the CA's CRL at once and reaches the verifier its bus uses
// within CRLEvery, without a restart.
func TestRevocationFromAnotherProcess(t *testing.T) {
	dir := t.TempDir()
	a := startConfig(t, dir, Config{Clock: clock.Real{}, CRLEvery: 50 * time.Millisecond})
	tok, _ := a.CA().NewToken(pki.RoleGateway, "home-3", "", time.Hour, time.Now())
	gw, _ := enrol(t, client(a), tok, "home-3")
	v := BusVerifier(a.Verifier())
	if _, err := v.VerifyPeer(gw, time.Now()); err != nil {
		t.Fatal(err)
	}
	rv, ok := v.(bus.Revisioned)
	if !ok {
		t.Fatal("the bus verifier does not report revisions: the bus would never check its connected clients again")
	}
	rev := rv.Revision()

	admin, err := OpenState(filepath.Join(dir, "ca"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.RevokeIdentity(context.Background(), pki.FiledUnder(gw), time.Now()); err != nil {
		t.Fatal(err)
	}

	der, err := client(a).CRL(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil || len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Cmp(gw.SerialNumber) != 0 {
		t.Fatalf("CRL right after the revocation: %v entries, %v", len(crl.RevokedCertificateEntries), err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := v.VerifyPeer(gw, time.Now())
		if errors.Is(err, pki.ErrRevoked) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bus verifier 5 s after the revocation: %v, want ErrRevoked", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if rv.Revision() == rev {
		t.Fatal("revision unchanged by a revocation: the bus would keep the revoked client connected")
	}
}

// A data dir from a version before databases (state.json and one DER file
// per certificate in certs/) is imported at the first Open: the directory
// still resolves the devices, a used token stays used, an unused one enrols,
// serials carry on, and the file is moved aside.
func TestStateFileIsImported(t *testing.T) {
	dir := t.TempDir()
	caDir := filepath.Join(dir, "ca")
	ks, err := keystore.Open(filepath.Join(dir, "keys"), []byte("test passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	old, gw, used, fresh := earlierVersion(t, caDir, ks)

	a := start(t, dir)
	ctx := context.Background()
	if !a.CA().Certificate().Equal(old.Certificate()) {
		t.Fatal("imported CA has a new root")
	}
	if got, err := client(a).Certificates(ctx, pki.FiledUnder(gw)); err != nil || len(got) != 1 || !got[0].Equal(gw) {
		t.Fatalf("directory after import: %d certificates, %v", len(got), err)
	}
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := client(a).Enroll(ctx, used, key, "home-1"); !errors.Is(err, pki.ErrTokenUsed) {
		t.Fatalf("used token after import: %v, want ErrTokenUsed", err)
	}
	cert, _ := enrol(t, client(a), fresh, "home-2")
	if cert.SerialNumber.Cmp(gw.SerialNumber) <= 0 {
		t.Fatalf("serial %v after import, want above %v", cert.SerialNumber, gw.SerialNumber)
	}
	if _, err := os.Stat(filepath.Join(caDir, StateFile+dbstate.ImportedSuffix)); err != nil {
		t.Fatalf("state file not moved aside: %v", err)
	}
}

// earlierVersion lays out a CA data dir as versions before databases did:
// the root, a FileState in state.json and one DER file per certificate.
func earlierVersion(t *testing.T, caDir string, ks keystore.Keystore) (old *pki.CA, gw *x509.Certificate, used, fresh string) {
	t.Helper()
	if err := os.MkdirAll(caDir, 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := pki.OpenFileState(filepath.Join(caDir, StateFile))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err := ks.Put(KeyName, key); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if old, err = pki.NewCA("test CA", key, st, now, 10*365*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := WriteCertificate(filepath.Join(caDir, RootFile), old.Certificate()); err != nil {
		t.Fatal(err)
	}
	used, _ = old.NewToken(pki.RoleGateway, "home-1", "", time.Hour, now)
	fresh, _ = old.NewToken(pki.RoleGateway, "home-2", "", time.Hour, now)
	_, gk, _ := ed25519.GenerateKey(rand.Reader)
	csr, err := pki.NewCSR(gk, "home-1")
	if err != nil {
		t.Fatal(err)
	}
	if gw, err = old.Enroll(used, csr, now); err != nil {
		t.Fatal(err)
	}
	certs := filepath.Join(caDir, CertsDir)
	if err := os.MkdirAll(certs, 0o700); err != nil {
		t.Fatal(err)
	}
	name := pki.FiledUnder(gw) + "-" + gw.SerialNumber.Text(16) + ".der"
	if err := os.WriteFile(filepath.Join(certs, name), gw.Raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return old, gw, used, fresh
}

// Revoking through the authority reaches the verifier the bus uses at once.
func TestRevokeReachesBusVerifier(t *testing.T) {
	a := start(t, t.TempDir())
	tok, _ := a.CA().NewToken(pki.RoleGateway, "home-2", "", time.Hour, time.Now())
	gw, _ := enrol(t, client(a), tok, "home-2")
	v := BusVerifier(a.Verifier())
	id, err := v.VerifyPeer(gw, time.Now())
	if err != nil || id.Role != string(pki.RoleGateway) || id.LFDI != pki.LFDI(gw.Raw) {
		t.Fatalf("before revocation: %+v %v", id, err)
	}
	if err := a.Revoke(gw); err != nil {
		t.Fatal(err)
	}
	if _, err := v.VerifyPeer(gw, time.Now().Add(time.Second)); !errors.Is(err, pki.ErrRevoked) {
		t.Fatalf("after revocation: %v", err)
	}
}

// A device that renews with a new key is filed with all its certificates,
// newest first, so a verifier can find every key it may still meet; the
// directory keeps the newest est.MaxDirectoryCerts, across a restart.
func TestDirectoryKeepsEveryKeyOfARenewal(t *testing.T) {
	dir := t.TempDir()
	clk := clock.NewSim(time.Now())
	a := startWith(t, dir, clk)
	ctx := context.Background()
	tok, _ := a.CA().NewToken(pki.RoleGateway, "home-1", "", time.Hour, clk.Now())
	cert, key := enrol(t, client(a), tok, "home-1")
	lfdi := pki.LFDI(cert.Raw)
	issued := []*x509.Certificate{cert}
	for range est.MaxDirectoryCerts {
		clk.Advance(time.Minute)
		_, next, _ := ed25519.GenerateKey(rand.Reader)
		renewed, err := client(a, tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key}).Reenroll(ctx, next, "home-1")
		if err != nil {
			t.Fatal(err)
		}
		cert, key = renewed, next
		issued = append([]*x509.Certificate{renewed}, issued...)
	}
	want := issued[:est.MaxDirectoryCerts]
	checkDirectory(t, a, lfdi, want)
	a.Shutdown(ctx)
	checkDirectory(t, startWith(t, dir, clk), lfdi, want)
}

func checkDirectory(t *testing.T, a *Authority, lfdi string, want []*x509.Certificate) {
	t.Helper()
	got, err := client(a).Certificates(context.Background(), lfdi)
	if err != nil || len(got) != len(want) {
		t.Fatalf("directory: %d certificates, %v", len(got), err)
	}
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Fatalf("certificate %d is not the %d-th newest", i, i)
		}
	}
}

// The CA's HTTPS certificate renews itself at the first handshake in its
// last fifth, once however many handshakes arrive together, and the renewed
// one serves from then on: a CA that runs for longer than a certificate's
// life stays reachable without a restart.
func TestServerCertificateRenewsWhileRunning(t *testing.T) {
	clk := clock.NewSim(time.Now())
	a := startWith(t, t.TempDir(), clk)
	served := func() *x509.Certificate {
		pool := x509.NewCertPool()
		pool.AddCert(a.CA().Certificate())
		conn, err := tls.Dial("tcp", a.ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1",
			MinVersion: tls.VersionTLS13, Time: clk.Now})
		if err != nil {
			t.Error(err)
			return nil
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0]
	}
	first := served()
	if again := served(); again.SerialNumber.Cmp(first.SerialNumber) != 0 {
		t.Fatal("a certificate that is not due was reissued")
	}
	clk.Set(first.NotAfter.Add(-first.NotAfter.Sub(first.NotBefore) / 10)) // in its last tenth
	got := make(chan *x509.Certificate, 8)
	for range cap(got) {
		go func() { got <- served() }()
	}
	var renewed *x509.Certificate
	for range cap(got) {
		c := <-got
		if c == nil {
			t.FailNow()
		}
		if renewed == nil {
			renewed = c
		}
		if c.SerialNumber.Cmp(renewed.SerialNumber) != 0 {
			t.Fatalf("handshakes at the same moment got different renewals: %v and %v", renewed.SerialNumber, c.SerialNumber)
		}
	}
	if renewed.SerialNumber.Cmp(first.SerialNumber) == 0 || !renewed.NotAfter.After(first.NotAfter) {
		t.Fatalf("served %v until %v in the last tenth of %v until %v: not renewed", renewed.SerialNumber, renewed.NotAfter, first.SerialNumber, first.NotAfter)
	}
	if id, err := pki.NewVerifier(a.CA().Certificate()).Verify(renewed, clk.Now()); err != nil || id.Role != pki.RoleCA {
		t.Fatalf("renewed certificate: role %v, %v", id.Role, err)
	}
}

// GET /controls reports how often the CA re-reads its revocations, beside
// the CRL's own validity.
func TestControlsReportTheCRLRefresh(t *testing.T) {
	a := startConfig(t, t.TempDir(), Config{Clock: clock.Real{}, CRLEvery: 250 * time.Millisecond})
	resp, err := client(a).HTTP.Get(a.URL() + "/controls")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct{ Controls []framework.Active }
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(doc.Controls, func(c framework.Active) bool { return c.ID == framework.Revocation })
	if i < 0 || doc.Controls[i].Params["crl_refresh"] != "250ms" || doc.Controls[i].Params["crl_keeps_expired"] != pki.CRLKeepsExpired.String() {
		t.Fatalf("GET /controls: %+v", doc.Controls)
	}
}

package daemon

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/comms/pki/est"
	"github.com/usapp/usapp/computing/keystore"
	"github.com/usapp/usapp/config"
	"github.com/usapp/usapp/roles/ca"
	"github.com/usapp/usapp/sim/clock"
)

// A running gateway renews its certificate over EST before it expires, with
// a new key kept in the keystore as the next generation: same identity, the
// meter is told the key, and TLS clients present the new certificate at
// their next handshake. A renewal that fails after storing its key reuses it
// next time, and a restarted daemon finds the key of its saved certificate.
func TestCredentialRenewsWithANewKey(t *testing.T) {
	dir := t.TempDir()
	auth, ks := testCA(t, dir, clock.Real{})
	auth.CA().DeviceValidity = time.Hour
	root := auth.CA().Certificate()
	ctx := context.Background()

	tok, err := auth.CA().NewToken(pki.RoleGateway, "home-1", "", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	key, err := ed25519Key(ks, "gateway")
	if err != nil {
		t.Fatal(err)
	}
	first, err := (&est.Client{BaseURL: auth.URL(), HTTP: httpClient(clientTLS(root))}).Enroll(ctx, tok, key, "home-1")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "gateway.pem")
	cred := newCredential("home-1", "gateway", path, ks, first, key)
	var told []ed25519.PrivateKey
	cred.rekeyed = func(k ed25519.PrivateKey) { told = append(told, k) }
	cfg := cred.tlsConfig(root)

	if renewed, err := cred.renewIfDue(ctx, auth.URL(), root, time.Now()); err != nil || renewed {
		t.Fatalf("renewed a fresh certificate: %v %v", renewed, err)
	}
	// In the last fifth of its hour the certificate is due. A CA that does
	// not answer fails the renewal after its key is stored.
	due := first.NotBefore.Add(55 * time.Minute)
	if _, err := cred.renewIfDue(ctx, "https://127.0.0.1:1", root, due); err == nil {
		t.Fatal("renewal against no CA succeeded")
	}
	renewed, err := cred.renewIfDue(ctx, auth.URL(), root, due)
	if err != nil || !renewed {
		t.Fatalf("renewal: %v %v", renewed, err)
	}
	next := cred.certificate()
	k2, err := ks.Get("gateway.k2")
	if err != nil {
		t.Fatalf("the failed renewal's key was not reused: %v", err)
	}
	if _, err := ks.Get("gateway.k3"); err == nil {
		t.Fatal("a renewal generated a key it did not need")
	}
	if _, err := ks.Get("gateway"); !errors.Is(err, keystore.ErrNotFound) {
		t.Fatalf("the superseded key is still in the keystore: %v", err)
	}
	newPub := next.PublicKey.(ed25519.PublicKey)
	if next.SerialNumber.Cmp(first.SerialNumber) == 0 || newPub.Equal(key.Public()) || !newPub.Equal(k2.(ed25519.PrivateKey).Public()) {
		t.Fatal("renewal did not issue a certificate for the keystore's next key")
	}
	if len(told) != 1 || !told[0].Equal(k2) || !cred.key().Equal(k2) {
		t.Fatal("the new key did not reach the meter or the credential")
	}
	was, _ := pki.IdentityOf(first)
	now, _ := cred.identity()
	if now.LFDI != was.LFDI || now.Role != pki.RoleGateway {
		t.Fatalf("identity changed: %+v -> %+v", was, now)
	}
	if saved, err := ca.ReadCertificate(path); err != nil || !saved.Equal(next) {
		t.Fatalf("renewed certificate not saved: %v", err)
	}
	presented, err := cfg.GetClientCertificate(&tls.CertificateRequestInfo{})
	if err != nil || !presented.Leaf.Equal(next) || !presented.PrivateKey.(ed25519.PrivateKey).Equal(k2) {
		t.Fatal("TLS clients still present the old certificate or key")
	}

	// After a restart: the saved certificate's key, or a clear error.
	if got, gen, err := keyFor(ks, "gateway", next); err != nil || !got.Equal(k2) || gen != 2 {
		t.Fatalf("restart: key of generation %d, %v", gen, err)
	}
	var hinted *Hinted
	if _, _, err := keyFor(ks, "meter-1", next); !errors.As(err, &hinted) {
		t.Fatalf("a certificate without its key: %v", err)
	}
}

// A gateway restarted while its CA is down starts with its saved certificate
// even when that certificate is due for renewal (renewDue logs the failure
// and the loop retries); only an expired one stops it, with a hint.
func TestEnrolledStartsWithADueCertificateWhileTheCAIsDown(t *testing.T) {
	now := time.Now()
	c, err := pki.NewCA("test-ca", p256(t), pki.NewMemState(), now.Add(-30*time.Hour), 31*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cfg, ks, key := daemonKey(t, "gateway")
	dir := cfg.DataDir
	due, err := c.Issue(pki.RoleGateway, "home-1", "", key.Public(), now.Add(-29*time.Hour)) // ends with the CA, in an hour
	if err != nil || !pki.NeedsRotation(due, now) {
		t.Fatalf("setup: %v, due %v", err, err == nil && pki.NeedsRotation(due, now))
	}
	path := filepath.Join(dir, "gateway.pem")
	if err := ca.WriteCertificate(path, due); err != nil {
		t.Fatal(err)
	}
	down := &est.Client{BaseURL: "https://127.0.0.1:1"}
	noToken := func() (string, error) { return "", errors.New("no token needed") }
	cred, err := enrolled(t.Context(), cfg, ks, down, "gateway", "home-1", noToken)
	if err != nil || !cred.certificate().Equal(due) {
		t.Fatalf("start with a due certificate and no CA: %v", err)
	}
	logs := &syncBuffer{}
	renewDue(t.Context(), []*credential{cred}, down.BaseURL, c.Certificate(), slog.New(slog.NewTextHandler(logs, nil)))
	if !cred.certificate().Equal(due) || !strings.Contains(logs.String(), "certificate renewal failed; will retry") {
		t.Fatalf("renewal against no CA: log %q", logs.String())
	}

	ended, err := pki.NewCA("ended-ca", p256(t), pki.NewMemState(), now.Add(-2*time.Hour), 119*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	expired, err := ended.Issue(pki.RoleGateway, "home-1", "", key.Public(), now.Add(-90*time.Minute))
	if err != nil || !now.After(expired.NotAfter) {
		t.Fatalf("setup: %v", err)
	}
	if err := ca.WriteCertificate(path, expired); err != nil {
		t.Fatal(err)
	}
	var h *Hinted
	if _, err := enrolled(t.Context(), cfg, ks, down, "gateway", "home-1", noToken); !errors.As(err, &h) {
		t.Fatalf("start with an expired certificate: %v, want an error with a hint", err)
	}
}

// testCA opens a CA in dir on clk's time, serving EST on a free port until
// the test ends, with the keystore it keeps its key in.
func testCA(t *testing.T, dir string, clk clock.Clock) (*ca.Authority, keystore.Keystore) {
	t.Helper()
	ks, err := keystore.Open(filepath.Join(dir, "keys"), []byte("test passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	auth, err := ca.Open(ca.Config{Name: "test CA", DataDir: filepath.Join(dir, "ca"), Listen: "127.0.0.1:0",
		Hosts: []string{"127.0.0.1"}, Clock: clk}, ks)
	if err != nil {
		t.Fatal(err)
	}
	_, srvKey, _ := ed25519.GenerateKey(rand.Reader)
	if err := auth.Start(srvKey); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { auth.Shutdown(context.Background()) })
	return auth, ks
}

// daemonKey is a configuration with data_dir and a keystore in a fresh
// directory, and the Ed25519 key name in that keystore.
func daemonKey(t *testing.T, name string) (*config.Config, keystore.Keystore, ed25519.PrivateKey) {
	t.Helper()
	dir := t.TempDir()
	cfg := parseConfig(t, "data_dir: "+dir+"\n")
	ks, err := keystore.Open(filepath.Join(dir, "keys"), []byte("test passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := ed25519Key(ks, name)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, ks, key
}

func p256(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// A service renews with the key it has (gateways hold the head-end's key
// from its bundle) and keeps its identity and host names; its credential
// touches no keystore.
func TestServiceCredentialRenewsWithTheSameKey(t *testing.T) {
	clk := clock.NewSim(time.Now())
	dir := t.TempDir()
	auth, _ := testCA(t, dir, clk)
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	first, err := auth.CA().IssueServer(pki.RoleBus, "bus", []string{"127.0.0.1"}, key.Public(), clk.Now().Add(-300*24*time.Hour))
	if err != nil || !pki.NeedsRotation(first, clk.Now()) {
		t.Fatalf("setup: %v", err)
	}
	path := filepath.Join(dir, "bus.pem")
	cred := newServiceCredential("bus", path, first, key)
	root := auth.CA().Certificate()
	renewed, err := cred.renewIfDue(t.Context(), auth.URL(), root, clk.Now())
	if err != nil || !renewed {
		t.Fatalf("renewed %v: %v", renewed, err)
	}
	got := cred.certificate()
	if !got.PublicKey.(ed25519.PublicKey).Equal(key.Public()) || !cred.key().Equal(key) {
		t.Fatal("a service's renewal changed its key")
	}
	was, _ := pki.IdentityOf(first)
	id, err := pki.IdentityOf(got)
	if err != nil || id.LFDI != was.LFDI || id.Role != pki.RoleBus || got.VerifyHostname("127.0.0.1") != nil {
		t.Fatalf("renewed: identity %+v (was %s), hosts %v: %v", id, was.LFDI, got.IPAddresses, err)
	}
	if saved := readCert(t, path); !saved.Equal(got) {
		t.Fatal("the renewal is not saved")
	}
	if tc, _ := cred.serverCertificate(nil); !tc.Leaf.Equal(got) {
		t.Fatal("the server does not present the renewal")
	}
}

// The embedded CA's head-end keeps a saved certificate that is only due
// (the renewal loop renews it and keeps its identity), and issues a new one
// when the saved one is expired, another CA's or for another key.
func TestHeadEndCredential(t *testing.T) {
	now := time.Now()
	c, err := pki.NewCA("test-ca", p256(t), pki.NewMemState(), now.Add(-400*24*time.Hour), 800*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cfg, ks, key := daemonKey(t, "headend")
	other, err := pki.NewCA("other-ca", p256(t), pki.NewMemState(), now.Add(-time.Hour), 800*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	issue := func(c *pki.CA, pub ed25519.PublicKey, at time.Time) *x509.Certificate {
		cert, err := c.Issue(pki.RoleHeadEnd, "headend", "", pub, at)
		if err != nil {
			t.Fatal(err)
		}
		return cert
	}
	path := filepath.Join(cfg.DataDir, "headend.pem")
	for _, tc := range []struct {
		what  string
		saved *x509.Certificate
		kept  bool
	}{
		{"due", issue(c, key.Public().(ed25519.PublicKey), now.Add(-300*24*time.Hour)), true},
		{"expired", issue(c, key.Public().(ed25519.PublicKey), now.Add(-370*24*time.Hour)), false},
		{"another CA's", issue(other, key.Public().(ed25519.PublicKey), now), false},
		{"for another key", issue(c, otherKey.Public().(ed25519.PublicKey), now), false},
	} {
		if err := ca.WriteCertificate(path, tc.saved); err != nil {
			t.Fatal(err)
		}
		cred, err := headEndCredential(cfg, ks, c)
		if err != nil {
			t.Fatalf("%s: %v", tc.what, err)
		}
		if got := cred.certificate(); got.Equal(tc.saved) != tc.kept {
			t.Errorf("%s certificate: kept %v, want %v", tc.what, got.Equal(tc.saved), tc.kept)
		}
		if _, err := pki.NewVerifier(c.Certificate()).Verify(cred.certificate(), now); err != nil {
			t.Errorf("%s: the head-end starts with %v", tc.what, err)
		}
	}
}

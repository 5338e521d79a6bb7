package daemon

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"path/filepath"
	"testing"
	"time"

	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/comms/pki/est"
	"github.com/usapp/usapp/computing/keystore"
	"github.com/usapp/usapp/roles/ca"
	"github.com/usapp/usapp/sim/clock"
)

// A running gateway renews its certificate over EST before it expires: same
// key, same identity, and TLS clients present the new certificate at their
// next handshake.
func TestCredentialRenewsBeforeExpiry(t *testing.T) {
	dir := t.TempDir()
	ks, err := keystore.Open(filepath.Join(dir, "keys"), []byte("test passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	auth, err := ca.Open(ca.Config{Name: "test CA", DataDir: filepath.Join(dir, "ca"), Listen: "127.0.0.1:0",
		Hosts: []string{"127.0.0.1"}, Clock: clock.Real{}}, ks)
	if err != nil {
		t.Fatal(err)
	}
	auth.CA().DeviceValidity = time.Hour
	_, srvKey, _ := ed25519.GenerateKey(rand.Reader)
	if err := auth.Start(srvKey); err != nil {
		t.Fatal(err)
	}
	defer auth.Shutdown(context.Background())
	root := auth.CA().Certificate()
	ctx := context.Background()

	tok, err := auth.CA().NewToken(pki.RoleGateway, "home-1", "", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	first, err := (&est.Client{BaseURL: auth.URL(), HTTP: httpClient(clientTLS(root))}).Enroll(ctx, tok, key, "home-1")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "gateway.pem")
	cred := newCredential("home-1", path, first, key)
	cfg := cred.tlsConfig(root)

	if renewed, err := cred.renewIfDue(ctx, auth.URL(), root, time.Now()); err != nil || renewed {
		t.Fatalf("renewed a fresh certificate: %v %v", renewed, err)
	}
	// In the last fifth of its hour the certificate is due.
	renewed, err := cred.renewIfDue(ctx, auth.URL(), root, first.NotBefore.Add(55*time.Minute))
	if err != nil || !renewed {
		t.Fatalf("renewal: %v %v", renewed, err)
	}
	next := cred.certificate()
	if next.SerialNumber.Cmp(first.SerialNumber) == 0 || !next.PublicKey.(ed25519.PublicKey).Equal(key.Public()) {
		t.Fatal("renewal did not issue a new certificate for the same key")
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
	if err != nil || !presented.Leaf.Equal(next) {
		t.Fatal("TLS clients still present the old certificate")
	}
}

package daemon

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/platform/bus/bustest"
	"github.com/usapp/usapp/roles/ca"
)

// An operator's NATS server keeps a certificate of the CA without a new
// token: `usapp ca renew-bus` leaves it alone until the last fifth of its
// validity, then renews it with itself, for the same key and names, and a
// reload of the server (nats-server --signal reload) serves the new one to
// clients that trust the CA's root. A revoked certificate cannot renew
// itself, and the error says to enrol again.
func TestRenewBusKeepsTheOperatorsServerTrusted(t *testing.T) {
	dir := t.TempDir()
	authority := newCADaemon(t, dir, "service_validity: 100s")
	authority.run(t, slog.New(slog.NewJSONHandler(&syncBuffer{}, nil)))
	files, first := enrolBus(t, authority, dir)
	conf := filepath.Join(dir, "nats-server.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, "listen: \"127.0.0.1:-1\"\ntls { cert_file: %q, key_file: %q, timeout: 5 }\n",
		files.CertFile, files.KeyFile), 0o600); err != nil {
		t.Fatal(err)
	}
	ns := bustest.StartFromFile(t, conf)
	renewal := BusRenewal{CAURL: authority.url(), RootFile: authority.root, CertFile: files.CertFile, KeyFile: files.KeyFile}

	before := readFile(t, files.CertFile)
	cert, renewed, err := RenewBus(t.Context(), renewal)
	if err != nil || renewed || cert.SerialNumber.Cmp(first.SerialNumber) != 0 || !bytes.Equal(readFile(t, files.CertFile), before) {
		t.Fatalf("renewal of a fresh certificate: renewed %v, %v; want nothing done", renewed, err)
	}

	renewal.Now = func() time.Time { return time.Now().Add(85 * time.Second) } // in the last fifth of 100 s
	cert, renewed, err = RenewBus(t.Context(), renewal)
	if err != nil || !renewed || cert.SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Fatalf("renewal of a certificate due: renewed %v, %v; want a new certificate", renewed, err)
	}
	if cert.NotAfter.Before(first.NotAfter) || !bytes.Equal(cert.RawSubjectPublicKeyInfo, first.RawSubjectPublicKeyInfo) ||
		cert.VerifyHostname("127.0.0.1") != nil || pki.LFDI(cert.Raw) == "" {
		t.Fatalf("renewed certificate %v–%v for %v: want no earlier expiry, the same key and names", cert.NotBefore, cert.NotAfter, cert.IPAddresses)
	}
	if saved, err := ca.ReadCertificate(files.CertFile); err != nil || !saved.Equal(cert) {
		t.Fatalf("%s holds %v (%v), want the renewed certificate", files.CertFile, saved, err)
	}

	if got := servedSerial(t, ns.ClientURL(), authority.root); got.Cmp(first.SerialNumber) != 0 {
		t.Fatalf("before the reload the server serves serial %x, want the first certificate's", got)
	}
	if err := ns.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := servedSerial(t, ns.ClientURL(), authority.root); got.Cmp(cert.SerialNumber) != 0 {
		t.Fatalf("after the reload the server serves serial %x, want the renewed one %x", got, cert.SerialNumber)
	}

	if _, err := Revoke(t.Context(), authority.cfg, Revocation{Serial: cert.SerialNumber.Text(16)}, nil); err != nil {
		t.Fatal(err)
	}
	before = readFile(t, files.CertFile)
	renewal.Force = true
	_, _, err = RenewBus(t.Context(), renewal)
	var hinted *Hinted
	if !errors.Is(err, pki.ErrRevoked) || !errors.As(err, &hinted) || !bytes.Equal(readFile(t, files.CertFile), before) {
		t.Fatalf("renewal of a revoked certificate: %v; want pki.ErrRevoked with a hint, and the file untouched", err)
	}
}

// RenewBus refuses files it cannot renew with, before it asks the CA.
func TestRenewBusRefusesWhatItCannotRenew(t *testing.T) {
	dir := t.TempDir()
	authority := newCADaemon(t, dir, "")
	authority.run(t, slog.New(slog.NewJSONHandler(&syncBuffer{}, nil)))
	files, _ := enrolBus(t, authority, dir)
	other := newCA(t, time.Now())
	otherRoot, gatewayCert, otherKey := filepath.Join(dir, "other-root.pem"), filepath.Join(dir, "gateway.pem"), filepath.Join(dir, "other.key")
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeKeyFile(otherKey, key); err != nil {
		t.Fatal(err)
	}
	gateway, err := other.Issue(pki.RoleGateway, "home-1", "", key.Public(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(ca.WriteCertificate(otherRoot, other.Certificate()), ca.WriteCertificate(gatewayCert, gateway)); err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]BusRenewal{
		"another CA's root":       {RootFile: otherRoot, CertFile: files.CertFile, KeyFile: files.KeyFile},
		"a key of another":        {RootFile: authority.root, CertFile: files.CertFile, KeyFile: otherKey},
		"no certificate":          {RootFile: authority.root, CertFile: filepath.Join(dir, "none.pem"), KeyFile: files.KeyFile},
		"a root that is no root":  {RootFile: files.KeyFile, CertFile: files.CertFile, KeyFile: files.KeyFile},
		"a gateway's certificate": {RootFile: otherRoot, CertFile: gatewayCert, KeyFile: otherKey},
	} {
		r.CAURL, r.Force = authority.url(), true
		before := readFile(t, files.CertFile)
		_, _, err := RenewBus(t.Context(), r)
		var hinted *Hinted
		if !errors.As(err, &hinted) || hinted.Hint() == "" || !bytes.Equal(readFile(t, files.CertFile), before) {
			t.Errorf("%s: %v; want an error with a hint, and the certificate untouched", name, err)
			continue
		}
		t.Logf("%s: %v (%s)", name, err, hinted.Hint())
	}
}

// enrolBus enrols a server certificate for 127.0.0.1 into dir, as usapp ca
// enrol-bus does.
func enrolBus(t *testing.T, authority caDaemon, dir string) (BusEnrolment, *x509.Certificate) {
	t.Helper()
	files := BusEnrolment{CAURL: authority.url(), RootFile: authority.root, TokenFile: authority.svcTokens,
		Hosts: []string{"127.0.0.1"}, CertFile: filepath.Join(dir, "server.pem"), KeyFile: filepath.Join(dir, "server.key")}
	cert, err := EnrolBus(t.Context(), files)
	if err != nil {
		t.Fatal(err)
	}
	return files, cert
}

// servedSerial is the serial of the certificate a NATS server presents to a
// client that trusts root.
func servedSerial(t *testing.T, url, root string) *big.Int {
	t.Helper()
	rootCert, err := ca.ReadCertificate(root)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(rootCert)
	nc, err := nats.Connect(url, nats.Timeout(10*time.Second), nats.Secure(&tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool}))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	st, err := nc.TLSConnectionState()
	if err != nil {
		t.Fatal(err)
	}
	return st.PeerCertificates[0].SerialNumber
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

package pki_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/usapp/usapp/comms/pki"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func newCA(t testing.TB) *pki.CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := pki.NewCA("USaPP Test Root", key, pki.NewMemState(), t0, 10*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func edKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func csrFor(t testing.TB, key crypto.Signer, name string, hosts ...string) *x509.CertificateRequest {
	t.Helper()
	csr, err := pki.NewCSR(key, name, hosts...)
	if err != nil {
		t.Fatal(err)
	}
	return csr
}

// enroll creates a token and enrols a fresh Ed25519 key with it.
func enroll(t testing.TB, ca *pki.CA, role pki.Role, name, gw string) (*x509.Certificate, ed25519.PrivateKey) {
	t.Helper()
	tok, err := ca.NewToken(role, name, gw, time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	key := edKey(t)
	csr, err := pki.NewEd25519CSR(key, name)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Enroll(tok, csr, t0)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func TestLFDIIsLeftmost160BitsOfSHA256UpperHex(t *testing.T) {
	der := []byte("not really a certificate")
	sum := sha256.Sum256(der)
	got := pki.LFDI(der)
	if len(got) != 40 || got != strings.ToUpper(got) {
		t.Fatalf("LFDI %q: want 40 upper-case hex chars", got)
	}
	if want := strings.ToUpper(hex.EncodeToString(sum[:20])); got != want {
		t.Fatalf("LFDI = %s, want %s", got, want)
	}
}

func TestRootCertificate(t *testing.T) {
	ca := newCA(t)
	root := ca.Certificate()
	if !root.IsCA || !root.MaxPathLenZero || root.MaxPathLen != 0 {
		t.Fatalf("root: IsCA=%v MaxPathLenZero=%v", root.IsCA, root.MaxPathLenZero)
	}
	if root.KeyUsage&x509.KeyUsageCRLSign == 0 || root.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Fatalf("root key usage %b lacks cert/crl sign", root.KeyUsage)
	}
	if err := root.CheckSignatureFrom(root); err != nil {
		t.Fatalf("root not self-signed: %v", err)
	}
}

func TestLoadCARejectsForeignKey(t *testing.T) {
	ca := newCA(t)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := pki.LoadCA(ca.Certificate(), other, pki.NewMemState()); !errors.Is(err, pki.ErrKeyMismatch) {
		t.Fatalf("LoadCA with foreign key: %v, want ErrKeyMismatch", err)
	}
}

func TestNewCARejectsNonP256Key(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if _, err := pki.NewCA("x", key, pki.NewMemState(), t0, time.Hour); !errors.Is(err, pki.ErrInvalid) {
		t.Fatalf("P-384 CA key: %v, want ErrInvalid", err)
	}
}

func TestEnrolIdentityComesFromToken(t *testing.T) {
	ca := newCA(t)
	gw, _ := enroll(t, ca, pki.RoleGateway, "gw-1", "")
	gwLFDI := pki.LFDI(gw.Raw)
	tok, err := ca.NewToken(pki.RoleMeter, "meter-1", gwLFDI, time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	key := edKey(t)
	// The device claims to be a head-end: the CA must not care.
	csr := csrFor(t, key, "headend-evil")
	cert, err := ca.Enroll(tok, csr, t0)
	if err != nil {
		t.Fatal(err)
	}
	id, err := pki.NewVerifier(ca.Certificate()).Verify(cert, t0)
	if err != nil {
		t.Fatal(err)
	}
	if id.Role != pki.RoleMeter || id.Name != "meter-1" || id.Gateway != gwLFDI {
		t.Fatalf("identity %+v: want meter-1 bound to %s", id, gwLFDI)
	}
	if id.LFDI != pki.LFDI(cert.Raw) || !id.NotAfter.Equal(cert.NotAfter) {
		t.Fatalf("identity LFDI/NotAfter mismatch: %+v", id)
	}
	if !ed25519.PublicKey(key.Public().(ed25519.PublicKey)).Equal(cert.PublicKey) {
		t.Fatal("certificate does not carry the requested key")
	}
	if len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
		t.Fatalf("meter ext key usage %v: want client auth only", cert.ExtKeyUsage)
	}
	if cert.IsCA {
		t.Fatal("device certificate is a CA")
	}
}

func TestTokenIsOneTime(t *testing.T) {
	ca := newCA(t)
	tok, _ := ca.NewToken(pki.RoleMeter, "m", "", time.Hour, t0)
	if _, err := ca.Enroll(tok, csrFor(t, edKey(t), "m"), t0); err != nil {
		t.Fatal(err)
	}
	if _, err := ca.Enroll(tok, csrFor(t, edKey(t), "m"), t0); !errors.Is(err, pki.ErrTokenUsed) {
		t.Fatalf("second enrol: %v, want ErrTokenUsed", err)
	}
}

func TestTokenRaceHasOneWinner(t *testing.T) {
	ca := newCA(t)
	tok, _ := ca.NewToken(pki.RoleMeter, "m", "", time.Hour, t0)
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		csr := csrFor(t, edKey(t), "m")
		wg.Go(func() { _, errs[i] = ca.Enroll(tok, csr, t0) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, pki.ErrTokenUsed):
			t.Fatalf("concurrent enrol: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d enrolments succeeded with one token, want 1", ok)
	}
}

func TestTokenExpiryAndGarbage(t *testing.T) {
	ca := newCA(t)
	tok, _ := ca.NewToken(pki.RoleMeter, "m", "", time.Hour, t0)
	if _, err := ca.Enroll(tok, csrFor(t, edKey(t), "m"), t0.Add(time.Hour)); !errors.Is(err, pki.ErrTokenExpired) {
		t.Fatalf("expired token: %v, want ErrTokenExpired", err)
	}
	for _, bad := range []string{"", "!!", strings.Repeat("A", 43), tok + "A"} {
		if _, err := ca.Enroll(bad, csrFor(t, edKey(t), "m"), t0); !errors.Is(err, pki.ErrTokenUnknown) {
			t.Fatalf("token %q: %v, want ErrTokenUnknown", bad, err)
		}
	}
}

func TestBadCSRDoesNotBurnToken(t *testing.T) {
	ca := newCA(t)
	tok, _ := ca.NewToken(pki.RoleMeter, "m", "", time.Hour, t0)
	csr := csrFor(t, edKey(t), "m")
	forged := *csr
	forged.PublicKey = edKey(t).Public() // signature no longer matches the key
	if _, err := ca.Enroll(tok, &forged, t0); !errors.Is(err, pki.ErrBadCSR) {
		t.Fatalf("forged csr: %v, want ErrBadCSR", err)
	}
	if _, err := ca.Enroll(tok, nil, t0); !errors.Is(err, pki.ErrBadCSR) {
		t.Fatalf("nil csr: %v, want ErrBadCSR", err)
	}
	if _, err := ca.Enroll(tok, csr, t0); err != nil {
		t.Fatalf("token burnt by a bad csr: %v", err)
	}
}

func TestEnrolAcceptsAnyX509KeyType(t *testing.T) {
	ca := newCA(t)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rs, _ := rsa.GenerateKey(rand.Reader, 2048)
	for name, key := range map[string]crypto.Signer{"ed25519": edKey(t), "ecdsa": ec, "rsa": rs} {
		tok, _ := ca.NewToken(pki.RoleGateway, "gw-"+name, "", time.Hour, t0)
		cert, err := ca.Enroll(tok, csrFor(t, key, name), t0)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(cert.PublicKey) {
			t.Fatalf("%s: certificate carries another key", name)
		}
	}
}

func TestTokenValidation(t *testing.T) {
	ca := newCA(t)
	lfdi := strings.Repeat("AB", 20)
	cases := []struct {
		role     pki.Role
		name, gw string
		ttl      time.Duration
		want     error
	}{
		{"admin", "x", "", time.Hour, pki.ErrRole},
		{pki.RoleCA, "x", "", time.Hour, pki.ErrRole},
		{pki.RoleGateway, "x", lfdi, time.Hour, pki.ErrRole},
		{pki.RoleMeter, "x", strings.ToLower(lfdi), time.Hour, pki.ErrInvalid},
		{pki.RoleMeter, "", "", time.Hour, pki.ErrInvalid},
		{pki.RoleMeter, strings.Repeat("n", 65), "", time.Hour, pki.ErrInvalid},
		{pki.RoleMeter, "a\nb", "", time.Hour, pki.ErrInvalid},
		{pki.RoleMeter, "x", "", 0, pki.ErrInvalid},
	}
	for _, c := range cases {
		if _, err := ca.NewToken(c.role, c.name, c.gw, c.ttl, t0); !errors.Is(err, c.want) {
			t.Errorf("NewToken(%q, %q, %q, %v) = %v, want %v", c.role, c.name, c.gw, c.ttl, err, c.want)
		}
	}
}

func TestRenewKeepsIdentityWithNewKey(t *testing.T) {
	ca := newCA(t)
	gwLFDI := strings.Repeat("0F", 20)
	old, _ := enroll(t, ca, pki.RoleMeter, "meter-7", gwLFDI)
	later := t0.Add(300 * 24 * time.Hour)
	if !pki.NeedsRotation(old, later) {
		t.Fatal("NeedsRotation false at 82% of validity")
	}
	newKey := edKey(t)
	fresh, err := ca.Renew(old, csrFor(t, newKey, "ignored"), later)
	if err != nil {
		t.Fatal(err)
	}
	id, err := pki.IdentityOf(fresh)
	if err != nil {
		t.Fatal(err)
	}
	if id.Role != pki.RoleMeter || id.Name != "meter-7" || id.Gateway != gwLFDI {
		t.Fatalf("renewed identity %+v", id)
	}
	if fresh.SerialNumber.Cmp(old.SerialNumber) == 0 || !fresh.NotAfter.After(old.NotAfter) {
		t.Fatal("renewal did not produce a new, later certificate")
	}
	if !newKey.Public().(ed25519.PublicKey).Equal(fresh.PublicKey) {
		t.Fatal("renewed certificate does not carry the new key")
	}
	if pki.NeedsRotation(fresh, later) {
		t.Fatal("fresh certificate already needs rotation")
	}
}

func TestRenewRefusesRevokedExpiredForeign(t *testing.T) {
	ca := newCA(t)
	cert, _ := enroll(t, ca, pki.RoleGateway, "gw", "")
	csr := csrFor(t, edKey(t), "gw")
	if _, err := ca.Renew(cert, csr, t0.Add(400*24*time.Hour)); !errors.Is(err, pki.ErrExpired) {
		t.Fatalf("renew expired: %v", err)
	}
	foreign, _ := enroll(t, newCA(t), pki.RoleGateway, "gw", "")
	if _, err := ca.Renew(foreign, csr, t0); !errors.Is(err, pki.ErrUnknownIssuer) {
		t.Fatalf("renew foreign: %v", err)
	}
	if err := ca.Revoke(cert.SerialNumber, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := ca.Renew(cert, csr, t0); !errors.Is(err, pki.ErrRevoked) {
		t.Fatalf("renew revoked: %v", err)
	}
}

func TestIssueServer(t *testing.T) {
	ca := newCA(t)
	cert, err := ca.IssueServer(pki.RoleBus, "bus", []string{"127.0.0.1", "localhost"}, edKey(t).Public(), t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.VerifyHostname("127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if err := cert.VerifyHostname("localhost"); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Certificate())
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: t0, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
			t.Fatalf("stdlib verify for %v: %v", usage, err)
		}
	}
	if _, err := ca.IssueServer(pki.RoleMeter, "m", []string{"localhost"}, edKey(t).Public(), t0); !errors.Is(err, pki.ErrRole) {
		t.Fatalf("server cert for a meter: %v, want ErrRole", err)
	}
	if cert.NotAfter.After(ca.Certificate().NotAfter) {
		t.Fatal("leaf outlives the root")
	}
}

// A service enrolling with a token takes its host names from the request
// (a bus must name one); a device's requested hosts are ignored, and a
// request with too many or unusable names is refused without spending the
// token.
func TestServiceEnrolsWithItsHosts(t *testing.T) {
	ca := newCA(t)
	token := func(role pki.Role, name string) string {
		tok, err := ca.NewToken(role, name, "", time.Hour, t0)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	bus := token(pki.RoleBus, "bus")
	many := make([]string, pki.MaxHosts+1)
	for i := range many {
		many[i] = fmt.Sprintf("h%d.example", i)
	}
	for _, hosts := range [][]string{many, {"bad host"}, {"*.example"}} {
		if _, err := ca.Enroll(bus, csrFor(t, edKey(t), "bus", hosts...), t0); !errors.Is(err, pki.ErrBadCSR) {
			t.Fatalf("hosts %q: %v, want ErrBadCSR", hosts, err)
		}
	}
	cert, err := ca.Enroll(bus, csrFor(t, edKey(t), "bus", "127.0.0.1", "bus.example"), t0)
	if err != nil {
		t.Fatalf("bus enrolment after refused requests: %v", err)
	}
	for _, h := range []string{"127.0.0.1", "bus.example"} {
		if err := cert.VerifyHostname(h); err != nil {
			t.Fatal(err)
		}
	}
	if id, err := pki.IdentityOf(cert); err != nil || id.Role != pki.RoleBus {
		t.Fatalf("bus identity %+v, %v", id, err)
	}

	if _, err := ca.Enroll(token(pki.RoleBus, "bus"), csrFor(t, edKey(t), "bus"), t0); !errors.Is(err, pki.ErrBadCSR) {
		t.Fatalf("bus without hosts: %v, want ErrBadCSR", err)
	}
	he, err := ca.Enroll(token(pki.RoleHeadEnd, "headend"), csrFor(t, edKey(t), "headend"), t0)
	if err != nil || len(he.DNSNames)+len(he.IPAddresses) != 0 {
		t.Fatalf("head-end without hosts: %v, hosts %v %v", err, he.DNSNames, he.IPAddresses)
	}
	m, err := ca.Enroll(token(pki.RoleMeter, "m"), csrFor(t, edKey(t), "m", "meter.example"), t0)
	if err != nil || len(m.DNSNames) != 0 {
		t.Fatalf("meter asking for hosts: %v, hosts %v", err, m.DNSNames)
	}
}

// DeviceValidity sets the life of gateways' and meters' certificates,
// ServiceValidity that of the serving roles'; each defaults to a year.
func TestValidityIsConfigurable(t *testing.T) {
	ca := newCA(t)
	ca.DeviceValidity = 48 * time.Hour
	for _, tc := range []struct {
		role    pki.Role
		service time.Duration
		want    time.Duration
	}{{pki.RoleGateway, 0, 48 * time.Hour}, {pki.RoleMeter, 0, 48 * time.Hour}, {pki.RoleHeadEnd, 0, pki.DefaultDeviceValidity},
		{pki.RoleHeadEnd, 3 * time.Hour, 3 * time.Hour}, {pki.RoleMeter, 3 * time.Hour, 48 * time.Hour}} {
		ca.ServiceValidity = tc.service
		gateway := ""
		if tc.role == pki.RoleMeter {
			gateway = strings.Repeat("A", 40)
		}
		cert, err := ca.Issue(tc.role, "d", gateway, edKey(t).Public(), t0)
		if err != nil {
			t.Fatal(err)
		}
		if !cert.NotAfter.Equal(t0.Add(tc.want)) {
			t.Fatalf("%s: NotAfter %v, want t0+%v", tc.role, cert.NotAfter, tc.want)
		}
	}
}

func TestVerifierRejections(t *testing.T) {
	ca := newCA(t)
	v := pki.NewVerifier(ca.Certificate())
	cert, _ := enroll(t, ca, pki.RoleMeter, "m", "")
	if _, err := v.Verify(cert, t0.Add(-time.Hour)); !errors.Is(err, pki.ErrNotYetValid) {
		t.Errorf("before NotBefore: %v", err)
	}
	if _, err := v.Verify(cert, t0.Add(366*24*time.Hour)); !errors.Is(err, pki.ErrExpired) {
		t.Errorf("after NotAfter: %v", err)
	}
	foreign, _ := enroll(t, newCA(t), pki.RoleMeter, "m", "")
	if _, err := v.Verify(foreign, t0); !errors.Is(err, pki.ErrUnknownIssuer) {
		t.Errorf("foreign: %v", err)
	}
	if _, err := v.Verify(ca.Certificate(), t0); !errors.Is(err, pki.ErrRole) {
		t.Errorf("root as identity: %v", err)
	}
	if _, err := v.VerifyDER([]byte{0x30, 0x03, 1, 2, 3}, t0); !errors.Is(err, pki.ErrMalformed) {
		t.Errorf("garbage DER: %v", err)
	}
	if id, err := v.VerifyDER(cert.Raw, t0); err != nil || id.Name != "m" {
		t.Errorf("VerifyDER good cert: %+v, %v", id, err)
	}
}

// TestVerifierSignatureCacheIsBounded fills a four-entry cache with six
// certificates: it never holds more than four, and a full cache gives up one
// entry per new certificate rather than all of them, so that a pass over a
// fleet one larger than the cache still finds most signatures cached.
func TestVerifierSignatureCacheIsBounded(t *testing.T) {
	ca := newCA(t)
	v := pki.NewVerifier(ca.Certificate())
	pki.SetSigCacheMax(v, 4)
	for i := range 6 {
		cert, _ := enroll(t, ca, pki.RoleMeter, fmt.Sprintf("m%d", i), "")
		if _, err := v.Verify(cert, t0); err != nil {
			t.Fatal(err)
		}
		if got, want := pki.SigCacheLen(v), min(i+1, 4); got != want {
			t.Fatalf("after %d certificates the cache holds %d, want %d", i+1, got, want)
		}
	}
	foreign, _ := enroll(t, newCA(t), pki.RoleMeter, "f", "")
	if _, err := v.Verify(foreign, t0); !errors.Is(err, pki.ErrUnknownIssuer) {
		t.Fatalf("foreign: %v", err)
	}
	if got := pki.SigCacheLen(v); got != 4 {
		t.Fatalf("a failed check changed the cache: %d entries", got)
	}
}

// TestVerifierRejectsTwoRoles signs, with the real CA key, a certificate
// carrying two OUs: the role must be unambiguous.
func TestVerifierRejectsTwoRoles(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca, _ := pki.NewCA("root", key, pki.NewMemState(), t0, 24*time.Hour)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(99),
		Subject:      pkix.Name{CommonName: "x", OrganizationalUnit: []string{"meter", "headend"}},
		NotBefore:    t0.Add(-time.Minute), NotAfter: t0.Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Certificate(), edKey(t).Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pki.NewVerifier(ca.Certificate()).VerifyDER(der, t0); !errors.Is(err, pki.ErrRole) {
		t.Fatalf("two OUs: %v, want ErrRole", err)
	}
}

func TestRevocationThroughCRL(t *testing.T) {
	ca := newCA(t)
	v := pki.NewVerifier(ca.Certificate())
	bad, _ := enroll(t, ca, pki.RoleMeter, "stolen", "")
	good, _ := enroll(t, ca, pki.RoleMeter, "fine", "")
	if _, err := v.Verify(bad, t0); err != nil {
		t.Fatal(err)
	}
	if err := ca.Revoke(bad.SerialNumber, t0); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(time.Minute)
	crl, err := ca.CRL(now)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := x509.ParseRevocationList(crl)
	if err != nil {
		t.Fatal(err)
	}
	if !parsed.NextUpdate.Equal(now.Add(24 * time.Hour)) {
		t.Fatalf("NextUpdate %v, want now+24h", parsed.NextUpdate)
	}
	if err := v.SetCRL(crl, now); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(bad, now); !errors.Is(err, pki.ErrRevoked) {
		t.Fatalf("revoked cert: %v, want ErrRevoked", err)
	}
	if _, err := v.Verify(good, now); err != nil {
		t.Fatalf("unrevoked cert: %v", err)
	}
}

// A revoked certificate leaves the CRL CRLKeepsExpired after it expires,
// not before: until then relying parties with a slow clock still see it.
func TestCRLDropsLongExpiredCertificates(t *testing.T) {
	ca := newCA(t)
	ca.DeviceValidity = time.Hour
	short, _ := enroll(t, ca, pki.RoleMeter, "short-lived", "")
	ca.DeviceValidity = 0
	long, _ := enroll(t, ca, pki.RoleMeter, "long-lived", "")
	for _, c := range []*x509.Certificate{short, long} {
		if err := ca.Revoke(c.SerialNumber, t0); err != nil {
			t.Fatal(err)
		}
	}
	listed := func(at time.Time) (out []string) {
		t.Helper()
		der, err := ca.CRL(at)
		if err != nil {
			t.Fatal(err)
		}
		crl, err := x509.ParseRevocationList(der)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range crl.RevokedCertificateEntries {
			out = append(out, e.SerialNumber.Text(16))
		}
		return out
	}
	both, onlyLong := []string{short.SerialNumber.Text(16), long.SerialNumber.Text(16)}, []string{long.SerialNumber.Text(16)}
	if got := listed(short.NotAfter.Add(pki.CRLKeepsExpired - time.Minute)); !slices.Equal(got, both) {
		t.Fatalf("CRL just before the expired certificate may go: %v, want %v", got, both)
	}
	if got := listed(short.NotAfter.Add(pki.CRLKeepsExpired + time.Minute)); !slices.Equal(got, onlyLong) {
		t.Fatalf("CRL a week after the expiry: %v, want %v", got, onlyLong)
	}
}

// Revision moves when the revoked set changes, not when the CA only
// re-signs the same list under a new number, nor when a list is refused.
func TestVerifierRevision(t *testing.T) {
	ca := newCA(t)
	v := pki.NewVerifier(ca.Certificate())
	install := func(at time.Time) {
		t.Helper()
		der, err := ca.CRL(at)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.SetCRL(der, at); err != nil {
			t.Fatal(err)
		}
	}
	install(t0)
	if got := v.Revision(); got != 0 {
		t.Fatalf("empty list over no list: revision %d, want 0", got)
	}
	bad, _ := enroll(t, ca, pki.RoleMeter, "stolen", "")
	if err := ca.Revoke(bad.SerialNumber, t0); err != nil {
		t.Fatal(err)
	}
	install(t0.Add(time.Minute))
	if got := v.Revision(); got != 1 {
		t.Fatalf("after a revocation: revision %d, want 1", got)
	}
	install(t0.Add(2 * time.Minute)) // re-signed, same serials
	if got := v.Revision(); got != 1 {
		t.Fatalf("same list re-signed: revision %d, want 1", got)
	}
	if err := v.SetCRL([]byte("crl"), t0); err == nil {
		t.Fatal("garbage installed")
	}
	other, _ := enroll(t, ca, pki.RoleMeter, "lost", "")
	if err := ca.Revoke(other.SerialNumber, t0); err != nil {
		t.Fatal(err)
	}
	install(t0.Add(3 * time.Minute))
	if got := v.Revision(); got != 2 {
		t.Fatalf("after a second revocation: revision %d, want 2", got)
	}
	got := v.RevokedSerials()
	slices.SortFunc(got, func(a, b *big.Int) int { return a.Cmp(b) })
	want := []*big.Int{bad.SerialNumber, other.SerialNumber}
	slices.SortFunc(want, func(a, b *big.Int) int { return a.Cmp(b) })
	if len(got) != 2 || got[0].Cmp(want[0]) != 0 || got[1].Cmp(want[1]) != 0 {
		t.Fatalf("RevokedSerials = %v, want %v", got, want)
	}
}

func TestSetCRLRejections(t *testing.T) {
	ca := newCA(t)
	v := pki.NewVerifier(ca.Certificate())
	newer, _ := ca.CRL(t0.Add(time.Hour))
	older, _ := ca.CRL(t0)
	foreign, _ := newCA(t).CRL(t0)
	if err := v.SetCRL(newer, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		der []byte
		now time.Time
	}{
		"rollback": {older, t0.Add(time.Hour)},
		"foreign":  {foreign, t0},
		"stale":    {newer, t0.Add(26 * time.Hour)},
		"future":   {newer, t0},
		"garbage":  {[]byte("crl"), t0},
	}
	for name, c := range cases {
		if err := v.SetCRL(c.der, c.now); !errors.Is(err, pki.ErrBadCRL) {
			t.Errorf("%s: %v, want ErrBadCRL", name, err)
		}
	}
}

func TestNeedsRotationBoundary(t *testing.T) {
	c := &x509.Certificate{NotBefore: t0, NotAfter: t0.Add(100 * time.Hour)}
	if pki.NeedsRotation(c, t0.Add(79*time.Hour)) {
		t.Fatal("rotation at 79%")
	}
	if !pki.NeedsRotation(c, t0.Add(80*time.Hour)) {
		t.Fatal("no rotation at 80%")
	}
}

func TestIssueRecordsAndSerialsAreUnique(t *testing.T) {
	ca := newCA(t)
	seen := map[string]bool{ca.Certificate().SerialNumber.String(): true}
	for range 20 {
		c, _ := enroll(t, ca, pki.RoleMeter, "m", "")
		if seen[c.SerialNumber.String()] {
			t.Fatalf("serial %v reused", c.SerialNumber)
		}
		seen[c.SerialNumber.String()] = true
	}
}

// A renewed certificate keeps the device's identity, so subjects, bindings
// and bills survive rotation; a renewal of a renewal keeps it too.
func TestRenewKeepsLFDIIdentity(t *testing.T) {
	ca := newCA(t)
	gw, gk := enroll(t, ca, pki.RoleGateway, "home-1", "")
	m, mk := enroll(t, ca, pki.RoleMeter, "home-1-meter", pki.LFDI(gw.Raw))
	first, _ := pki.IdentityOf(m)
	r1, err := ca.Renew(m, csrFor(t, mk, "x"), t0.Add(300*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	r2, err := ca.Renew(r1, csrFor(t, mk, "x"), t0.Add(600*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range []*x509.Certificate{r1, r2} {
		id, err := pki.IdentityOf(c)
		if err != nil {
			t.Fatal(err)
		}
		if id.LFDI != first.LFDI || id.Gateway != pki.LFDI(gw.Raw) || id.Role != pki.RoleMeter || pki.LFDI(c.Raw) == first.LFDI {
			t.Fatalf("renewal %d: identity %+v, first %+v", i+1, id, first)
		}
	}
	_ = gk
}

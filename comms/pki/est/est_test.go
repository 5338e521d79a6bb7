package est_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/comms/pki/est"
)

// clock is the CA's settable clock; TLS itself runs on real time, so the
// tests start from time.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	ca      *pki.CA
	clock   *clock
	handler *est.Handler
	srv     *httptest.Server
	roots   *x509.CertPool
	logs    *bytes.Buffer
}

// newEnv starts a real TLS EST server whose certificate the CA issued.
func newEnv(t testing.TB) *env {
	t.Helper()
	clk := &clock{t: time.Now()}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca, err := pki.NewCA("EST Test Root", caKey, pki.NewMemState(), clk.now(), 10*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	_, srvKey, _ := ed25519.GenerateKey(rand.Reader)
	srvCert, err := ca.IssueServer(pki.RoleCA, "est", []string{"127.0.0.1", "localhost"}, srvKey.Public(), clk.now())
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	h := est.NewHandler(ca, clk.now, slog.New(slog.NewJSONHandler(&syncWriter{w: logs}, nil)))
	srv := httptest.NewUnstartedServer(h)
	served := &tls.Certificate{Certificate: [][]byte{srvCert.Raw}, PrivateKey: srvKey, Leaf: srvCert}
	srv.TLS = est.ServerTLSConfig(func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return served, nil })
	// httptest serves its own certificate unless the configuration lists one.
	srv.TLS.Certificates = []tls.Certificate{*served}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(ca.Certificate())
	return &env{ca: ca, clock: clk, handler: h, srv: srv, roots: roots, logs: logs}
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// client returns an EST client trusting only the CA root, presenting certs.
func (e *env) client(certs ...tls.Certificate) *est.Client {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.roots, Certificates: certs, MinVersion: tls.VersionTLS13}}
	return &est.Client{BaseURL: e.srv.URL, HTTP: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
}

func (e *env) token(t testing.TB, role pki.Role, name string) string {
	t.Helper()
	tok, err := e.ca.NewToken(role, name, "", time.Hour, e.clock.now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func newKey(t testing.TB) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func wantStatus(t *testing.T, err error, status int, sentinel error) {
	t.Helper()
	var e *est.Error
	if !errors.As(err, &e) || e.Status != status {
		t.Fatalf("error %v: want HTTP %d", err, status)
	}
	if !errors.Is(err, sentinel) {
		t.Fatalf("error %v: want it to match %v", err, sentinel)
	}
}

func TestCACertsOverTLS(t *testing.T) {
	e := newEnv(t)
	root, err := e.client().CACerts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !root.Equal(e.ca.Certificate()) {
		t.Fatal("cacerts returned another certificate")
	}
}

func TestEnrolRoleComesFromToken(t *testing.T) {
	e := newEnv(t)
	key := newKey(t)
	cert, err := e.client().Enroll(t.Context(), e.token(t, pki.RoleMeter, "meter-42"), key, "headend")
	if err != nil {
		t.Fatal(err)
	}
	id, err := pki.NewVerifier(e.ca.Certificate()).Verify(cert, e.clock.now())
	if err != nil {
		t.Fatal(err)
	}
	if id.Role != pki.RoleMeter || id.Name != "meter-42" {
		t.Fatalf("identity %+v: want meter-42, meter", id)
	}
	if s := e.handler.Stats(); s.Enrolled != 1 {
		t.Fatalf("stats %+v: want one enrolment", s)
	}
}

func TestReusedTokenIsRefused(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	tok := e.token(t, pki.RoleGateway, "gw-1")
	if _, err := c.Enroll(t.Context(), tok, newKey(t), "gw-1"); err != nil {
		t.Fatal(err)
	}
	_, err := c.Enroll(t.Context(), tok, newKey(t), "gw-1")
	wantStatus(t, err, http.StatusUnauthorized, pki.ErrTokenUsed)
	if errors.Is(err, pki.ErrTokenExpired) {
		t.Fatal("token-used error also matches ErrTokenExpired")
	}
	if s := e.handler.Stats(); s.BadToken != 1 || s.Enrolled != 1 {
		t.Fatalf("stats %+v", s)
	}
	assertLogged(t, e, "token-used")
}

func TestExpiredAndMissingToken(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	tok := e.token(t, pki.RoleMeter, "m")
	e.clock.add(2 * time.Hour)
	_, err := c.Enroll(t.Context(), tok, newKey(t), "m")
	wantStatus(t, err, http.StatusUnauthorized, pki.ErrTokenExpired)
	_, err = c.Enroll(t.Context(), "", newKey(t), "m")
	wantStatus(t, err, http.StatusUnauthorized, pki.ErrTokenUnknown)
}

// enrolled returns a TLS client certificate for a freshly enrolled device.
func (e *env) enrolled(t *testing.T, role pki.Role, name string) (*x509.Certificate, tls.Certificate) {
	t.Helper()
	key := newKey(t)
	cert, err := e.client().Enroll(t.Context(), e.token(t, role, name), key, name)
	if err != nil {
		t.Fatal(err)
	}
	return cert, tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}
}

func TestRotationThenRevocation(t *testing.T) {
	e := newEnv(t)
	old, tc := e.enrolled(t, pki.RoleMeter, "meter-9")
	newK := newKey(t)
	fresh, err := e.client(tc).Reenroll(t.Context(), newK, "meter-9")
	if err != nil {
		t.Fatal(err)
	}
	v := pki.NewVerifier(e.ca.Certificate())
	id, err := v.Verify(fresh, e.clock.now())
	if err != nil || id.Role != pki.RoleMeter || id.Name != "meter-9" {
		t.Fatalf("rotated identity %+v, %v", id, err)
	}
	if fresh.SerialNumber.Cmp(old.SerialNumber) == 0 {
		t.Fatal("rotation returned the old certificate")
	}

	if err := e.ca.Revoke(old.SerialNumber, e.clock.now()); err != nil {
		t.Fatal(err)
	}
	crl, err := e.client().CRL(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := v.SetCRL(crl, e.clock.now()); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(old, e.clock.now()); !errors.Is(err, pki.ErrRevoked) {
		t.Fatalf("old certificate after revocation: %v", err)
	}
	if _, err := v.Verify(fresh, e.clock.now()); err != nil {
		t.Fatalf("rotated certificate after revoking the old one: %v", err)
	}
	if s := e.handler.Stats(); s.Reenrolled != 1 || s.CRLs != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestRevokedCannotReenroll(t *testing.T) {
	e := newEnv(t)
	cert, tc := e.enrolled(t, pki.RoleGateway, "gw")
	if err := e.ca.Revoke(cert.SerialNumber, e.clock.now()); err != nil {
		t.Fatal(err)
	}
	_, err := e.client(tc).Reenroll(t.Context(), newKey(t), "gw")
	wantStatus(t, err, http.StatusForbidden, pki.ErrRevoked)
	if s := e.handler.Stats(); s.Revoked != 1 || s.Reenrolled != 0 {
		t.Fatalf("stats %+v", s)
	}
	assertLogged(t, e, "revoked")
}

func TestReenrollNeedsValidClientCert(t *testing.T) {
	e := newEnv(t)
	_, err := e.client().Reenroll(t.Context(), newKey(t), "x")
	wantStatus(t, err, http.StatusUnauthorized, est.ErrNoClientCert)

	// A certificate from another CA, presented with its real key.
	other := newEnv(t)
	_, foreign := other.enrolled(t, pki.RoleMeter, "m")
	_, err = e.client(foreign).Reenroll(t.Context(), newKey(t), "m")
	wantStatus(t, err, http.StatusUnauthorized, pki.ErrUnknownIssuer)

	_, tc := e.enrolled(t, pki.RoleMeter, "m")
	e.clock.add(400 * 24 * time.Hour)
	_, err = e.client(tc).Reenroll(t.Context(), newKey(t), "m")
	wantStatus(t, err, http.StatusUnauthorized, pki.ErrExpired)
}

// post sends a raw body, bypassing the client's encoder.
func (e *env) post(t *testing.T, path, ctype, token string, body []byte) *http.Response {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.srv.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.client().HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestHostileBodies(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, pki.RoleMeter, "m")
	big := bytes.Repeat([]byte("A"), est.MaxBodyBytes+1)
	cases := []struct {
		name, ctype string
		body        []byte
		status      int
	}{
		{"oversized", "application/pkcs10", big, http.StatusRequestEntityTooLarge},
		{"wrong media type", "application/json", []byte("{}"), http.StatusUnsupportedMediaType},
		{"not base64", "application/pkcs10", []byte("%%%"), http.StatusBadRequest},
		{"not a csr", "application/pkcs10", []byte(base64.StdEncoding.EncodeToString([]byte("hello"))), http.StatusBadRequest},
	}
	for _, c := range cases {
		if resp := e.post(t, est.PathEnroll, c.ctype, tok, c.body); resp.StatusCode != c.status {
			t.Errorf("%s: HTTP %d, want %d", c.name, resp.StatusCode, c.status)
		}
	}
	s := e.handler.Stats()
	if s.TooLarge != 1 || s.MediaType != 1 || s.Malformed != 2 || s.Enrolled != 0 {
		t.Fatalf("stats %+v", s)
	}
	// None of the bad requests spent the token.
	if _, err := e.client().Enroll(t.Context(), tok, newKey(t), "m"); err != nil {
		t.Fatalf("token spent by a rejected request: %v", err)
	}
}

func TestCSRBodyMayBeLineWrapped(t *testing.T) {
	e := newEnv(t)
	csr, _ := pki.NewEd25519CSR(newKey(t), "m")
	b64 := base64.StdEncoding.EncodeToString(csr.Raw)
	var wrapped strings.Builder
	for len(b64) > 64 {
		wrapped.WriteString(b64[:64] + "\r\n")
		b64 = b64[64:]
	}
	wrapped.WriteString(b64 + "\n")
	resp := e.post(t, est.PathEnroll, "application/pkcs10", e.token(t, pki.RoleMeter, "m"), []byte(wrapped.String()))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("wrapped base64: HTTP %d", resp.StatusCode)
	}
}

func TestCRLShortPath(t *testing.T) {
	e := newEnv(t)
	resp, err := e.client().HTTP.Get(e.srv.URL + est.PathCRLShort)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/pkix-crl" {
		t.Fatalf("GET /crl: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// assertLogged checks that a rejection with the given code was logged.
func assertLogged(t *testing.T, e *env, code string) {
	t.Helper()
	for line := range strings.Lines(e.logs.String()) {
		var rec struct {
			Msg, Code string
			Status    int
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Code == code && rec.Status >= 400 {
			return
		}
	}
	t.Fatalf("no rejection with code %q logged:\n%s", code, e.logs.String())
}

func TestContextCancel(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := e.client().CACerts(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled request: %v", err)
	}
}

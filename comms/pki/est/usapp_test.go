package est_test

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"sync"
	"testing"

	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/comms/pki/est"
)

func tlsOf(c *x509.Certificate, k any) tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{c.Raw}, PrivateKey: k, Leaf: c}
}

func TestMeterTokenBindsMeterToCallingGateway(t *testing.T) {
	e := newEnv(t)
	gk := newKey(t)
	gw, err := e.client().Enroll(t.Context(), e.token(t, pki.RoleGateway, "home-1"), gk, "home-1")
	if err != nil {
		t.Fatal(err)
	}
	gwc := e.client(tlsOf(gw, gk))
	tok, err := gwc.MeterToken(t.Context(), "home-1-meter")
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.client().Enroll(t.Context(), tok, newKey(t), "ignored")
	if err != nil {
		t.Fatal(err)
	}
	id, err := pki.IdentityOf(m)
	if err != nil || id.Role != pki.RoleMeter || id.Gateway != pki.LFDI(gw.Raw) || id.Name != "home-1-meter" {
		t.Fatalf("meter identity %+v, %v", id, err)
	}

	// Without a certificate, or with a meter's, no token.
	if _, err := e.client().MeterToken(t.Context(), "x"); err == nil {
		t.Fatal("anonymous caller got a meter token")
	}
	mk := newKey(t)
	m2, err := e.client().Enroll(t.Context(), e.token(t, pki.RoleMeter, "m2"), mk, "m2")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.client(tlsOf(m2, mk)).MeterToken(t.Context(), "x")
	wantStatus(t, err, http.StatusForbidden, pki.ErrRole)

	// A revoked gateway is refused at once: the CA's own state, not a CRL.
	if err := e.ca.Revoke(gw.SerialNumber, e.clock.now()); err != nil {
		t.Fatal(err)
	}
	_, err = gwc.MeterToken(t.Context(), "home-1-meter-2")
	wantStatus(t, err, http.StatusForbidden, pki.ErrRevoked)
}

func TestCertificateDirectory(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	issued := map[string]*x509.Certificate{}
	e.handler.WithDirectory(func(lfdi string) (*x509.Certificate, bool) {
		mu.Lock()
		defer mu.Unlock()
		c, ok := issued[lfdi]
		return c, ok
	})
	c, err := e.client().Enroll(t.Context(), e.token(t, pki.RoleGateway, "g"), newKey(t), "g")
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	issued[pki.LFDI(c.Raw)] = c
	mu.Unlock()
	got, err := e.client().Certificate(t.Context(), pki.LFDI(c.Raw))
	if err != nil || !got.Equal(c) {
		t.Fatalf("lookup: %v", err)
	}
	_, err = e.client().Certificate(t.Context(), "0000000000000000000000000000000000000000")
	wantStatus(t, err, http.StatusNotFound, est.ErrNotFound)
}

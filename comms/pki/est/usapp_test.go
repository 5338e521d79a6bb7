package est_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
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

// The directory answers every certificate of a device, newest first, at
// most est.MaxDirectoryCerts of them; the client reads them all.
func TestCertificateDirectory(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	issued := map[string][]*x509.Certificate{}
	e.handler.WithDirectory(func(_ context.Context, lfdi string) ([]*x509.Certificate, error) {
		mu.Lock()
		defer mu.Unlock()
		return issued[lfdi], nil
	})
	var certs []*x509.Certificate
	for range est.MaxDirectoryCerts + 1 {
		c, err := e.client().Enroll(t.Context(), e.token(t, pki.RoleGateway, "g"), newKey(t), "g")
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
	}
	lfdi := pki.LFDI(certs[0].Raw)
	mu.Lock()
	issued[lfdi] = certs
	mu.Unlock()
	got, err := e.client().Certificates(t.Context(), lfdi)
	if err != nil || len(got) != est.MaxDirectoryCerts {
		t.Fatalf("lookup: %d certificates, %v", len(got), err)
	}
	for i := range got {
		if !got[i].Equal(certs[i]) {
			t.Fatalf("certificate %d is not the directory's %d", i, i)
		}
	}
	_, err = e.client().Certificates(t.Context(), "0000000000000000000000000000000000000000")
	wantStatus(t, err, http.StatusNotFound, est.ErrNotFound)
}

// A directory answer that is not DER certificates, or carries none or too
// many, is a protocol error, never a partial list.
func TestCertificatesRejectsBadAnswers(t *testing.T) {
	e := newEnv(t)
	c, err := e.client().Enroll(t.Context(), e.token(t, pki.RoleGateway, "g"), newKey(t), "g")
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string][]byte{
		"empty":     {},
		"truncated": c.Raw[:len(c.Raw)-1],
		"trailing":  append(slices.Clone(c.Raw), 0x30),
		"too many":  bytes.Repeat(c.Raw, est.MaxDirectoryCerts+1),
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) }))
			defer srv.Close()
			_, err := (&est.Client{BaseURL: srv.URL, HTTP: srv.Client()}).Certificates(t.Context(), pki.LFDI(c.Raw))
			if !errors.Is(err, est.ErrProtocol) {
				t.Fatalf("error %v, want ErrProtocol", err)
			}
		})
	}
}

// The serial look-up answers the one certificate with that serial; a serial
// that is not a positive hex number of at most 20 octets is malformed, one
// never issued is not found, and an answer with another serial is a
// protocol error.
func TestCertificateBySerial(t *testing.T) {
	e := newEnv(t)
	c, err := e.client().Enroll(t.Context(), e.token(t, pki.RoleGateway, "g"), newKey(t), "g")
	if err != nil {
		t.Fatal(err)
	}
	e.handler.WithSerials(func(_ context.Context, serial *big.Int) (*x509.Certificate, error) {
		if serial.Cmp(c.SerialNumber) == 0 {
			return c, nil
		}
		return nil, nil
	})
	got, err := e.client().CertificateBySerial(t.Context(), c.SerialNumber)
	if err != nil || !got.Equal(c) {
		t.Fatalf("lookup: %v", err)
	}
	_, err = e.client().CertificateBySerial(t.Context(), new(big.Int).Add(c.SerialNumber, big.NewInt(1)))
	wantStatus(t, err, http.StatusNotFound, est.ErrNotFound)
	for _, bad := range []string{"zz", "0", "-1", strings.Repeat("f", 41)} {
		resp, err := e.client().HTTP.Get(e.srv.URL + est.PathSerial + bad)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("serial %q: status %d, want 400", bad, resp.StatusCode)
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(c.Raw) }))
	defer srv.Close()
	other := new(big.Int).Add(c.SerialNumber, big.NewInt(7))
	if _, err := (&est.Client{BaseURL: srv.URL, HTTP: srv.Client()}).CertificateBySerial(t.Context(), other); !errors.Is(err, est.ErrProtocol) {
		t.Fatalf("answer with another serial: %v, want ErrProtocol", err)
	}
}

package est

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/usapp/usapp/comms/pki"
)

// USaPP extensions to EST, served by the same Handler (version 1):
//
//	GET  /usapp/v1/certs/{lfdi}          the certificates the CA issued to a device
//	                                     (DER, back to back, newest first, at most
//	                                     MaxDirectoryCerts), so a verifier can resolve
//	                                     a sender it has not met, and every key a
//	                                     device that renewed with a new key may
//	                                     still have signed with
//	GET  /usapp/v1/serials/{serial}      the certificate the CA issued with this
//	                                     serial (hex; DER), so that whoever holds the
//	                                     CRL can learn what a revoked certificate
//	                                     looks like on the wire (its SHA-256 is all
//	                                     an external NATS reports of a connection)
//	POST /usapp/v1/meter-token?name=N    an enrolled gateway, authenticated by its
//	                                     client certificate, obtains a one-time token
//	                                     that enrols a meter bound to it
const (
	PathCert       = "/usapp/v1/certs/"
	PathSerial     = "/usapp/v1/serials/"
	PathMeterToken = "/usapp/v1/meter-token"
)

// maxSerialHex bounds a serial in a look-up: RFC 5280 allows 20 octets.
const maxSerialHex = 40

// MaxDirectoryCerts bounds the certificates a directory answer carries: a
// device rotating its key has two current ones, so four leave room for a
// renewal retried while the previous one is still valid.
const MaxDirectoryCerts = 4

// mediaCerts is the directory's answer: DER certificates back to back (what
// x509.ParseCertificates reads).
const mediaCerts = "application/vnd.usapp.certs+der"

// meterTokenTTL is how long a gateway has to use a meter token.
const meterTokenTTL = 24 * time.Hour

// WithDirectory lets the handler answer certificate look-ups by LFDI: lookup
// returns a device's certificates, newest first (none: not found); the answer
// carries the first MaxDirectoryCerts. An error from lookup (a database that
// does not answer) is a 500, never a not-found. Without it PathCert answers
// not-found.
func (h *Handler) WithDirectory(lookup func(ctx context.Context, lfdi string) ([]*x509.Certificate, error)) *Handler {
	h.directory = lookup
	h.mux.HandleFunc("GET "+PathCert+"{lfdi}", h.certs)
	return h
}

func (h *Handler) certs(w http.ResponseWriter, r *http.Request) {
	cs, err := h.directory(r.Context(), r.PathValue("lfdi"))
	if err != nil {
		h.reject(w, r, err)
		return
	}
	if len(cs) == 0 {
		h.reject(w, r, ErrNotFound)
		return
	}
	var body []byte
	for _, c := range cs[:min(len(cs), MaxDirectoryCerts)] {
		body = append(body, c.Raw...)
	}
	w.Header().Set("Content-Type", mediaCerts)
	_, _ = w.Write(body)
}

// WithSerials lets the handler answer certificate look-ups by serial: lookup
// returns the certificate or nil when none was issued with it. As with
// WithDirectory, its error is a 500 and never a not-found.
func (h *Handler) WithSerials(lookup func(ctx context.Context, serial *big.Int) (*x509.Certificate, error)) *Handler {
	h.serials = lookup
	h.mux.HandleFunc("GET "+PathSerial+"{serial}", h.certBySerial)
	return h
}

func (h *Handler) certBySerial(w http.ResponseWriter, r *http.Request) {
	text := r.PathValue("serial")
	serial, ok := new(big.Int).SetString(text, 16)
	if !ok || len(text) > maxSerialHex || serial.Sign() <= 0 {
		h.reject(w, r, fmt.Errorf("%w: serial %.48q is not a positive hex number of at most 20 octets", pki.ErrMalformed, text))
		return
	}
	c, err := h.serials(r.Context(), serial)
	if err != nil {
		h.reject(w, r, err)
		return
	}
	if c == nil {
		h.reject(w, r, ErrNotFound)
		return
	}
	w.Header().Set("Content-Type", mediaCerts)
	_, _ = w.Write(c.Raw)
}

// meterToken issues a meter token bound to the calling gateway, as a smart
// meter gateway administers the devices of its local metrological network.
// The gateway's certificate is checked against the CA's own state, so a
// revoked gateway cannot onboard meters even before the next CRL.
func (h *Handler) meterToken(w http.ResponseWriter, r *http.Request) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		h.reject(w, r, ErrNoClientCert)
		return
	}
	now := h.now()
	id, err := h.ca.Authenticate(r.TLS.PeerCertificates[0], now)
	if err != nil {
		h.reject(w, r, err)
		return
	}
	if id.Role != pki.RoleGateway {
		h.reject(w, r, fmt.Errorf("%w: only a gateway may ask for a meter token", pki.ErrRole))
		return
	}
	tok, err := h.ca.NewToken(pki.RoleMeter, r.URL.Query().Get("name"), id.LFDI, meterTokenTTL, now)
	if err != nil {
		h.reject(w, r, fmt.Errorf("%w: %w", pki.ErrMalformed, err))
		return
	}
	h.log.Info("est: meter token issued", "gateway", id.LFDI, "name", r.URL.Query().Get("name"))
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, tok)
}

// Certificates fetches the certificates the CA issued to the device with
// this LFDI, newest first; ErrNotFound when it issued none. They are not
// verified: that is the caller's job (pki.Verifier).
func (c *Client) Certificates(ctx context.Context, lfdi string) ([]*x509.Certificate, error) {
	der, err := c.do(ctx, http.MethodGet, PathCert+url.PathEscape(lfdi), "", nil, MaxDirectoryCerts*maxCertResponse)
	if err != nil {
		return nil, err
	}
	certs, err := x509.ParseCertificates(der)
	if err != nil {
		return nil, fmt.Errorf("certificates: %w: %w", ErrProtocol, err)
	}
	if len(certs) == 0 || len(certs) > MaxDirectoryCerts {
		return nil, fmt.Errorf("certificates: %w: %d in the answer (1 to %d)", ErrProtocol, len(certs), MaxDirectoryCerts)
	}
	return certs, nil
}

// CertificateBySerial fetches the certificate the CA issued with serial;
// ErrNotFound when it issued none (or keeps no copy). It is not verified:
// that is the caller's job (pki.Verifier).
func (c *Client) CertificateBySerial(ctx context.Context, serial *big.Int) (*x509.Certificate, error) {
	der, err := c.do(ctx, http.MethodGet, PathSerial+serial.Text(16), "", nil, maxCertResponse)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("certificate by serial: %w: %w", ErrProtocol, err)
	}
	if cert.SerialNumber.Cmp(serial) != 0 {
		return nil, fmt.Errorf("certificate by serial: %w: asked for %x, got %x", ErrProtocol, serial, cert.SerialNumber)
	}
	return cert, nil
}

// MeterToken asks for a token enrolling a meter named name bound to this
// gateway; c.HTTP must present the gateway's certificate.
func (c *Client) MeterToken(ctx context.Context, name string) (string, error) {
	tok, err := c.do(ctx, http.MethodPost, PathMeterToken+"?name="+url.QueryEscape(name), "", nil, 1024)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(tok)), nil
}

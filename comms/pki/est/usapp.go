package est

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/usapp/usapp/comms/pki"
)

// USaPP extensions to EST, served by the same Handler (version 1):
//
//	GET  /usapp/v1/certs/{lfdi}          a certificate the CA issued (DER), so a
//	                                     verifier can resolve a sender it has not met
//	POST /usapp/v1/meter-token?name=N    an enrolled gateway, authenticated by its
//	                                     client certificate, obtains a one-time token
//	                                     that enrols a meter bound to it
const (
	PathCert       = "/usapp/v1/certs/"
	PathMeterToken = "/usapp/v1/meter-token"
)

// meterTokenTTL is how long a gateway has to use a meter token.
const meterTokenTTL = 24 * time.Hour

// WithDirectory lets the handler answer certificate look-ups by LFDI; without
// it PathCert answers not-found.
func (h *Handler) WithDirectory(lookup func(lfdi string) (*x509.Certificate, bool)) *Handler {
	h.directory = lookup
	h.mux.HandleFunc("GET "+PathCert+"{lfdi}", h.cert)
	return h
}

func (h *Handler) cert(w http.ResponseWriter, r *http.Request) {
	c, ok := h.directory(r.PathValue("lfdi"))
	if !ok {
		h.reject(w, r, ErrNotFound)
		return
	}
	w.Header().Set("Content-Type", mediaCert)
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

// Certificate fetches the certificate the CA issued with this LFDI;
// ErrNotFound when it issued none.
func (c *Client) Certificate(ctx context.Context, lfdi string) (*x509.Certificate, error) {
	der, err := c.do(ctx, http.MethodGet, PathCert+url.PathEscape(lfdi), "", nil, maxCertResponse)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("certificate: %w: %w", ErrProtocol, err)
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

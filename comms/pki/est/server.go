package est

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/usapp/usapp/comms/pki"
)

// Paths served by Handler.
const (
	PathCACerts  = "/.well-known/est/cacerts"
	PathEnroll   = "/.well-known/est/simpleenroll"
	PathReenroll = "/.well-known/est/simplereenroll"
	PathCRL      = "/.well-known/est/crl"
	PathCRLShort = "/crl"
	MaxBodyBytes = 64 << 10
	mediaPKCS10  = "application/pkcs10"
	mediaCert    = "application/pkix-cert"
	mediaCRL     = "application/pkix-crl"
	bearerPrefix = "Bearer "
)

// Stats counts what the handler served and refused.
type Stats struct {
	CACerts    uint64 // root certificates served
	CRLs       uint64 // CRLs served
	Enrolled   uint64 // certificates issued by simpleenroll
	Reenrolled uint64 // certificates rotated by simplereenroll

	BadToken        uint64 // missing, unknown, used or expired token (401)
	Unauthenticated uint64 // missing, expired or foreign client certificate (401)
	Revoked         uint64 // revoked client certificate (403)
	Forbidden       uint64 // role not allowed (403)
	Malformed       uint64 // undecodable body or bad CSR (400)
	TooLarge        uint64 // body over MaxBodyBytes (413)
	MediaType       uint64 // wrong Content-Type (415)
	Internal        uint64 // CA failures (500)
}

// Handler serves the EST endpoints for one CA. It implements http.Handler.
type Handler struct {
	ca  *pki.CA
	now func() time.Time
	log *slog.Logger
	mux *http.ServeMux

	directory func(ctx context.Context, lfdi string) ([]*x509.Certificate, error)
	serials   func(ctx context.Context, serial *big.Int) (*x509.Certificate, error)

	mu    sync.Mutex
	stats Stats
}

var _ http.Handler = (*Handler)(nil)

// NewHandler serves ca; now is the CA's clock (time.Now when nil), log
// receives one record per rejection (slog.Default when nil).
func NewHandler(ca *pki.CA, now func() time.Time, log *slog.Logger) *Handler {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	h := &Handler{ca: ca, now: now, log: log, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET "+PathCACerts, h.caCerts)
	h.mux.HandleFunc("POST "+PathEnroll, h.enroll)
	h.mux.HandleFunc("POST "+PathReenroll, h.reenroll)
	h.mux.HandleFunc("GET "+PathCRL, h.crl)
	h.mux.HandleFunc("GET "+PathCRLShort, h.crl)
	h.mux.HandleFunc("POST "+PathMeterToken, h.meterToken)
	return h
}

// ServerTLSConfig is the TLS configuration an EST server needs: TLS 1.3,
// the server certificate from serverCert at each handshake (so that a
// server can renew it while it runs), and a client certificate requested
// but left to the handler to verify (see the package documentation).
func ServerTLSConfig(serverCert func(*tls.ClientHelloInfo) (*tls.Certificate, error)) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS13,
		GetCertificate: serverCert,
		ClientAuth:     tls.RequestClientCert,
	}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Stats returns a snapshot of the counters.
func (h *Handler) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stats
}

func (h *Handler) count(f func(*Stats)) {
	h.mu.Lock()
	f(&h.stats)
	h.mu.Unlock()
}

func (h *Handler) caCerts(w http.ResponseWriter, r *http.Request) {
	h.count(func(s *Stats) { s.CACerts++ })
	w.Header().Set("Content-Type", mediaCert)
	_, _ = w.Write(h.ca.Certificate().Raw)
}

func (h *Handler) crl(w http.ResponseWriter, r *http.Request) {
	der, err := h.ca.CRL(h.now())
	if err != nil {
		h.reject(w, r, err)
		return
	}
	h.count(func(s *Stats) { s.CRLs++ })
	w.Header().Set("Content-Type", mediaCRL)
	_, _ = w.Write(der)
}

func (h *Handler) enroll(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), bearerPrefix)
	if !ok || token == "" {
		h.reject(w, r, fmt.Errorf("no bearer token: %w", pki.ErrTokenUnknown))
		return
	}
	csr, err := readCSR(w, r)
	if err != nil {
		h.reject(w, r, err)
		return
	}
	cert, err := h.ca.Enroll(strings.TrimSpace(token), csr, h.now())
	if err != nil {
		h.reject(w, r, err)
		return
	}
	h.count(func(s *Stats) { s.Enrolled++ })
	h.issued(w, r, cert)
}

func (h *Handler) reenroll(w http.ResponseWriter, r *http.Request) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		h.reject(w, r, ErrNoClientCert)
		return
	}
	csr, err := readCSR(w, r)
	if err != nil {
		h.reject(w, r, err)
		return
	}
	cert, err := h.ca.Renew(r.TLS.PeerCertificates[0], csr, h.now())
	if err != nil {
		h.reject(w, r, err)
		return
	}
	h.count(func(s *Stats) { s.Reenrolled++ })
	h.issued(w, r, cert)
}

func (h *Handler) issued(w http.ResponseWriter, r *http.Request, cert *x509.Certificate) {
	h.log.Info("est: certificate issued", "path", r.URL.Path, "lfdi", pki.LFDI(cert.Raw),
		"subject", cert.Subject.String(), "serial", cert.SerialNumber.Text(16), "not_after", cert.NotAfter)
	w.Header().Set("Content-Type", mediaCert)
	w.Header().Set("Content-Transfer-Encoding", "base64")
	_, _ = io.WriteString(w, base64.StdEncoding.EncodeToString(cert.Raw))
}

// readCSR checks the media type, bounds the body and decodes it.
func readCSR(w http.ResponseWriter, r *http.Request) (*x509.CertificateRequest, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != mediaPKCS10 {
		return nil, ErrMediaType
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, ErrTooLarge
		}
		return nil, fmt.Errorf("read body: %w: %w", pki.ErrBadCSR, err)
	}
	return decodeCSR(body)
}

// decodeCSR parses an EST request body: base64 (line breaks and spaces
// allowed, as RFC 7030 permits) of a DER PKCS#10 request whose self-signature
// must verify. Errors wrap pki.ErrBadCSR.
func decodeCSR(body []byte) (*x509.CertificateRequest, error) {
	if len(body) > MaxBodyBytes {
		return nil, ErrTooLarge
	}
	der, err := base64.StdEncoding.DecodeString(strings.Map(dropSpace, string(body)))
	if err != nil {
		return nil, fmt.Errorf("base64: %w", pki.ErrBadCSR)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", pki.ErrBadCSR, err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("%w: %w", pki.ErrBadCSR, err)
	}
	return csr, nil
}

func dropSpace(r rune) rune {
	switch r {
	case ' ', '\t', '\r', '\n':
		return -1
	}
	return r
}

// reject logs, counts and answers an error in its public form.
func (h *Handler) reject(w http.ResponseWriter, r *http.Request, err error) {
	e := toHTTP(err)
	h.count(func(s *Stats) { *counterFor(s, e.Status, e.Code)++ })
	level := slog.LevelWarn
	if e.Status >= 500 {
		level = slog.LevelError
	}
	h.log.Log(r.Context(), level, "est: request rejected", "path", r.URL.Path, "remote", r.RemoteAddr,
		"status", e.Status, "code", e.Code, "err", err)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(e)
}

func counterFor(s *Stats, status int, code string) *uint64 {
	switch {
	case strings.HasPrefix(code, "token-"):
		return &s.BadToken
	case code == "revoked":
		return &s.Revoked
	case status == http.StatusUnauthorized:
		return &s.Unauthenticated
	case status == http.StatusForbidden:
		return &s.Forbidden
	case status == http.StatusRequestEntityTooLarge:
		return &s.TooLarge
	case status == http.StatusUnsupportedMediaType:
		return &s.MediaType
	case status == http.StatusBadRequest:
		return &s.Malformed
	}
	return &s.Internal
}

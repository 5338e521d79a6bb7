package est

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/usapp/usapp/comms/pki"
)

// Response size bounds: a certificate or an error is small; a CRL grows by
// about 40 bytes per revocation.
const (
	maxCertResponse = 64 << 10
	maxCRLResponse  = 32 << 20
)

// Client talks to an EST server. BaseURL is the scheme and authority
// ("https://ca.example:8443"); HTTP is the client to use (http.DefaultClient
// when nil). For Reenroll, HTTP must present the current certificate as its
// TLS client certificate.
type Client struct {
	BaseURL string
	HTTP    *http.Client
}

// CACerts fetches the root certificate. Trust in it comes from the TLS
// connection (or from comparing it with a pinned copy), not from itself.
func (c *Client) CACerts(ctx context.Context) (*x509.Certificate, error) {
	der, err := c.do(ctx, http.MethodGet, PathCACerts, "", nil, maxCertResponse)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil || !cert.IsCA {
		return nil, fmt.Errorf("cacerts: %w", ErrProtocol)
	}
	return cert, nil
}

// Enroll obtains a first certificate for key with a one-time token. name is
// put in the request for logs only: the token decides the identity.
func (c *Client) Enroll(ctx context.Context, token string, key crypto.Signer, name string) (*x509.Certificate, error) {
	return c.request(ctx, PathEnroll, token, key, name)
}

// EnrollService enrols a service (head-end, bus) with a one-time token for
// its role, asking for a certificate that names hosts, where it serves.
func (c *Client) EnrollService(ctx context.Context, token string, key crypto.Signer, name string, hosts []string) (*x509.Certificate, error) {
	return c.request(ctx, PathEnroll, token, key, name, hosts...)
}

// Reenroll rotates the certificate presented as TLS client certificate to
// newKey (which may be the old key).
func (c *Client) Reenroll(ctx context.Context, newKey crypto.Signer, name string) (*x509.Certificate, error) {
	return c.request(ctx, PathReenroll, "", newKey, name)
}

// CRL fetches the current DER CRL; install it with pki.Verifier.SetCRL,
// which checks its signature.
func (c *Client) CRL(ctx context.Context) ([]byte, error) {
	return c.do(ctx, http.MethodGet, PathCRL, "", nil, maxCRLResponse)
}

func (c *Client) request(ctx context.Context, path, token string, key crypto.Signer, name string, hosts ...string) (*x509.Certificate, error) {
	csr, err := pki.NewCSR(key, name, hosts...)
	if err != nil {
		return nil, err
	}
	body := []byte(base64.StdEncoding.EncodeToString(csr.Raw))
	resp, err := c.do(ctx, http.MethodPost, path, token, body, maxCertResponse)
	if err != nil {
		return nil, err
	}
	der, err := base64.StdEncoding.DecodeString(strings.Map(dropSpace, string(resp)))
	if err != nil {
		return nil, fmt.Errorf("certificate encoding: %w", ErrProtocol)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("certificate: %w: %w", ErrProtocol, err)
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("certificate for another key: %w", ErrProtocol)
	}
	return cert, nil
}

// do sends one request and returns the bounded body of a 200 answer, or the
// server's *Error.
func (c *Client) do(ctx context.Context, method, path, token string, body []byte, limit int64) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, rd)
	if err != nil {
		return nil, fmt.Errorf("est: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", mediaPKCS10)
		req.Header.Set("Content-Transfer-Encoding", "base64")
	}
	if token != "" {
		req.Header.Set("Authorization", bearerPrefix+token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("est: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("est: read %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("response over %d bytes: %w", limit, ErrProtocol)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, decodeError(resp.StatusCode, data)
	}
	return data, nil
}

// decodeError turns an error answer into *Error; a body that is not ours
// still yields the status.
func decodeError(status int, body []byte) *Error {
	e := &Error{}
	if json.Unmarshal(body, e) != nil || e.Code == "" {
		e = &Error{Code: "http", Message: http.StatusText(status)}
	}
	e.Status = status
	return e
}

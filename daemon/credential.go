package daemon

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/comms/pki/est"
	"github.com/usapp/usapp/roles/ca"
)

// credential is a device's certificate and key while the daemon runs. TLS
// clients read the certificate at every handshake, so renewing it (same key,
// same identity: see pki.CA.Renew) takes effect at the next connection —
// the bus client's reconnect, the next EST request — without a restart.
type credential struct {
	name string // the certificate's name, for the CSR
	path string // where the certificate is kept (PEM)
	key  ed25519.PrivateKey
	cur  atomic.Pointer[tls.Certificate]
}

func newCredential(name, path string, cert *x509.Certificate, key ed25519.PrivateKey) *credential {
	c := &credential{name: name, path: path, key: key}
	c.set(cert)
	return c
}

func (c *credential) set(cert *x509.Certificate) {
	tc := tlsCert(cert, c.key)
	c.cur.Store(&tc)
}

// certificate is the current certificate.
func (c *credential) certificate() *x509.Certificate { return c.cur.Load().Leaf }

// identity is the device identity, stable across renewals.
func (c *credential) identity() (pki.Identity, error) { return pki.IdentityOf(c.certificate()) }

// tlsConfig is a client configuration presenting the current certificate.
func (c *credential) tlsConfig(root *x509.Certificate) *tls.Config {
	t := clientTLS(root)
	t.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return c.cur.Load(), nil }
	return t
}

// renewIfDue renews the certificate over EST when it is in the last part of
// its validity (pki.NeedsRotation at now), keeping the key, and saves it.
func (c *credential) renewIfDue(ctx context.Context, caURL string, root *x509.Certificate, now time.Time) (bool, error) {
	if !pki.NeedsRotation(c.certificate(), now) {
		return false, nil
	}
	client := &est.Client{BaseURL: caURL, HTTP: httpClient(c.tlsConfig(root))}
	cert, err := client.Reenroll(ctx, c.key, c.name)
	if err != nil {
		return false, fmt.Errorf("renew %s: %w", c.name, err)
	}
	if err := ca.WriteCertificate(c.path, cert); err != nil {
		return false, err
	}
	c.set(cert)
	return true, nil
}

// renewLoop checks the credentials every period until ctx ends. A failed
// renewal is retried at the next check; the old certificate stays in use
// until it expires.
func renewLoop(ctx context.Context, creds []*credential, caURL string, root *x509.Certificate, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, c := range creds {
			renewed, err := c.renewIfDue(ctx, caURL, root, time.Now())
			switch {
			case err != nil:
				log.Warn("certificate renewal failed; will retry", "name", c.name, "err", err)
			case renewed:
				log.Info("certificate renewed", "name", c.name, "not_after", c.certificate().NotAfter)
			}
		}
	}
}

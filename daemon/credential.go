package daemon

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/comms/pki/est"
	"github.com/usapp/usapp/computing/keystore"
	"github.com/usapp/usapp/roles/ca"
)

// credential is a device's or a service's certificate and key while the
// daemon runs. TLS peers read both at every handshake, so a renewal takes
// effect at the next connection (the bus client's reconnect, the next EST
// request, the next client of a server) without a restart. pki.CA.Renew
// keeps the identity, so an LFDI others hold stays valid.
//
// A device renews with a new key each time, as the BSI's smart-metering PKI
// asks of a gateway (TR-03109-4): a key then signs for one certificate's
// life at most. The keys are kept in the keystore as generations of base:
// base for the first, base.k2, base.k3, ... for each renewal; the
// certificate file says which one is current. A service (the head-end, its
// bus) renews with the same key: the head-end's is in the bundle every
// gateway fetched at its start.
type credential struct {
	name    string // the certificate's name, for the CSR
	base    string // the keystore name of the first key
	path    string // where the certificate is kept (PEM)
	ks      keystore.Keystore
	sameKey bool // a service's: renewed with the key it has
	cur     atomic.Pointer[tls.Certificate]
	// rekeyed, when set, is told each new key: the meter signs with it.
	rekeyed func(ed25519.PrivateKey)
}

func newCredential(name, base, path string, ks keystore.Keystore, cert *x509.Certificate, key ed25519.PrivateKey) *credential {
	c := &credential{name: name, base: base, path: path, ks: ks}
	c.set(cert, key)
	return c
}

// newServiceCredential is a service's credential, renewed with the same key.
func newServiceCredential(name, path string, cert *x509.Certificate, key ed25519.PrivateKey) *credential {
	c := &credential{name: name, path: path, sameKey: true}
	c.set(cert, key)
	return c
}

func (c *credential) set(cert *x509.Certificate, key ed25519.PrivateKey) {
	tc := tlsCert(cert, key)
	c.cur.Store(&tc)
}

// certificate is the current certificate.
func (c *credential) certificate() *x509.Certificate { return c.cur.Load().Leaf }

// key is the current certificate's key.
func (c *credential) key() ed25519.PrivateKey { return c.cur.Load().PrivateKey.(ed25519.PrivateKey) }

// identity is the device identity, stable across renewals.
func (c *credential) identity() (pki.Identity, error) { return pki.IdentityOf(c.certificate()) }

// tlsConfig is a client configuration presenting the current certificate.
func (c *credential) tlsConfig(root *x509.Certificate) *tls.Config {
	t := clientTLS(root)
	t.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return c.cur.Load(), nil }
	return t
}

// serverCertificate serves the current certificate (tls.Config.GetCertificate).
func (c *credential) serverCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.cur.Load(), nil
}

// renewIfDue renews the certificate over EST when it is in the last part of
// its validity (pki.NeedsRotation at now), and saves it. A device's new key
// is in the keystore before the CA sees it, and the certificate is saved
// before it is used, so a crash at any point leaves a certificate and its key
// on disk (keyFor finds it). The superseded keys are destroyed last: the
// device never signs with them again, and readings they signed are already
// in the spool. A failure there still reports the renewal.
func (c *credential) renewIfDue(ctx context.Context, caURL string, root *x509.Certificate, now time.Time) (bool, error) {
	if !pki.NeedsRotation(c.certificate(), now) {
		return false, nil
	}
	return c.renew(ctx, caURL, root)
}

// renew renews the certificate over EST now, as renewIfDue describes.
func (c *credential) renew(ctx context.Context, caURL string, root *x509.Certificate) (bool, error) {
	key, gen := c.key(), 0
	if !c.sameKey {
		var err error
		if key, gen, err = nextKey(c.ks, c.base, c.key().Public()); err != nil {
			return false, fmt.Errorf("renew %s: %w", c.name, err)
		}
	}
	client := &est.Client{BaseURL: caURL, HTTP: httpClient(c.tlsConfig(root))}
	cert, err := client.Reenroll(ctx, key, c.name)
	if err != nil {
		return false, fmt.Errorf("renew %s: %w", c.name, err)
	}
	if err := ca.WriteCertificate(c.path, cert); err != nil {
		return false, err
	}
	c.set(cert, key)
	if c.sameKey {
		return true, nil
	}
	if c.rekeyed != nil {
		c.rekeyed(key)
	}
	if err := keystore.DeleteBefore(c.ks, c.base, gen); err != nil {
		return true, fmt.Errorf("renewed %s, but its superseded keys remain: %w", c.name, err)
	}
	return true, nil
}

// keyFor finds, among base's generations, the key of cert and its generation.
func keyFor(ks keystore.Keystore, base string, cert *x509.Certificate) (ed25519.PrivateKey, int, error) {
	gens, err := keystore.Generations(ks, base)
	if err != nil {
		return nil, 0, err
	}
	for _, g := range gens {
		key, err := ed25519Key(ks, keystore.GenerationName(base, g))
		if err != nil {
			return nil, 0, err
		}
		if key.Public().(ed25519.PublicKey).Equal(cert.PublicKey) {
			return key, g, nil
		}
	}
	return nil, 0, &Hinted{fmt.Errorf("no key in the keystore matches the certificate %s", cert.Subject.CommonName),
		fmt.Sprintf("the keystore must hold %q or a renewal of it (%q, ...); restore it, or remove the certificate to enrol again", base, keystore.GenerationName(base, 2))}
}

// nextKey is the key for the next renewal: the newest generation if current
// is not it (a renewal that stored its key and then failed), else a new
// generation, stored before it is returned.
func nextKey(ks keystore.Keystore, base string, current crypto.PublicKey) (ed25519.PrivateKey, int, error) {
	gens, err := keystore.Generations(ks, base)
	if err != nil {
		return nil, 0, err
	}
	if len(gens) == 0 {
		return nil, 0, fmt.Errorf("keystore holds no key %q", base)
	}
	newest, err := ed25519Key(ks, keystore.GenerationName(base, gens[0]))
	if err != nil {
		return nil, 0, err
	}
	if !newest.Public().(ed25519.PublicKey).Equal(current) {
		return newest, gens[0], nil
	}
	key, err := keystore.GenerateEd25519(ks, keystore.GenerationName(base, gens[0]+1))
	return key, gens[0] + 1, err
}

// renewPeriod is how often renewLoop checks: every renewCheck, or every
// hundredth of the shortest certificate life (at least a second), so that
// short lives (ca.device_validity) still renew early in their last fifth.
func renewPeriod(creds []*credential) time.Duration {
	p := renewCheck
	for _, c := range creds {
		cert := c.certificate()
		p = min(p, cert.NotAfter.Sub(cert.NotBefore)/100)
	}
	return max(p, time.Second)
}

// renewLoop checks the credentials every period until ctx ends.
func renewLoop(ctx context.Context, creds []*credential, caURL string, root *x509.Certificate, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		renewDue(ctx, creds, caURL, root, log)
	}
}

// renewDue renews the credentials that are due and logs what happened. A
// failed renewal is retried at the next check; the old certificate stays in
// use until it expires.
func renewDue(ctx context.Context, creds []*credential, caURL string, root *x509.Certificate, log *slog.Logger) {
	for _, c := range creds {
		renewed, err := c.renewIfDue(ctx, caURL, root, time.Now())
		switch {
		case err != nil && renewed:
			log.Warn("certificate renewed; removing its superseded keys failed", "name", c.name, "err", err)
		case err != nil:
			log.Warn("certificate renewal failed; will retry", "name", c.name, "not_after", c.certificate().NotAfter, "err", err)
		case renewed:
			log.Info("certificate renewed", "name", c.name, "not_after", c.certificate().NotAfter)
		}
	}
}

package headend

import (
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"math/big"
	"sync"
	"time"

	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/platform/bus"
)

// SerialSource finds the certificate the CA issued with a serial (the CA's
// directory, over HTTPS). It returns an error wrapping ErrUnknownCert when the
// CA keeps none.
type SerialSource interface {
	CertificateBySerial(ctx context.Context, serial *big.Int) (*x509.Certificate, error)
}

// RevokedCertificates turns the CA's revocations into what an external NATS
// knows of a connection, the SHA-256 of its certificate, so that a
// bus.Evictor can close a revoked device's connections there (A1.revocation,
// A3.bus-access-control). A CRL names serials only; each new serial is looked
// up once in the CA's directory, and its certificate is taken only if the
// verifier finds it signed by the root and revoked, so a directory that
// answered wrongly cannot get a good device evicted. It is safe for
// concurrent use.
type RevokedCertificates struct {
	verifier *pki.Verifier
	src      SerialSource
	log      *slog.Logger

	mu      sync.RWMutex
	digests map[string]bool // hex SHA-256 of revoked certificates' DER
	settled map[string]bool // hex serials looked up for good
}

// NewRevokedCertificates follows v's CRL, looking serials up in src.
func NewRevokedCertificates(v *pki.Verifier, src SerialSource, log *slog.Logger) *RevokedCertificates {
	return &RevokedCertificates{verifier: v, src: src, log: log, digests: map[string]bool{}, settled: map[string]bool{}}
}

// Revoked reports whether the certificate with this SHA-256 (lower-case hex)
// is revoked, as far as Refresh has learnt (bus.EvictorConfig.Revoked).
func (r *RevokedCertificates) Revoked(certSHA256 string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.digests[certSHA256]
}

// Refresh looks up the serials of the verifier's CRL it has not settled. A
// serial the CA keeps no certificate for is settled and logged (its device
// cannot be found on an external bus); a directory that does not answer
// stops the refresh, and the rest wait for the next.
func (r *RevokedCertificates) Refresh(ctx context.Context) error {
	for _, serial := range r.verifier.RevokedSerials() {
		key := serial.Text(16)
		r.mu.RLock()
		done := r.settled[key]
		r.mu.RUnlock()
		if done {
			continue
		}
		cert, err := r.src.CertificateBySerial(ctx, serial)
		switch {
		case errors.Is(err, ErrUnknownCert):
			r.log.Warn("a revoked certificate is not in the CA's directory; its device cannot be found on an external bus", "serial", key)
		case err != nil:
			return err
		default:
			r.learn(key, cert)
		}
		r.mu.Lock()
		r.settled[key] = true
		r.mu.Unlock()
	}
	return nil
}

// learn keeps cert's digest if the verifier finds it revoked: signed by the
// root, with a serial on the CRL.
func (r *RevokedCertificates) learn(serial string, cert *x509.Certificate) {
	if _, err := r.verifier.Verify(cert, cert.NotBefore); !errors.Is(err, pki.ErrRevoked) {
		r.log.Warn("the CA's directory answered a revoked serial with a certificate that is not it", "serial", serial, "err", err)
		return
	}
	r.mu.Lock()
	r.digests[bus.CertDigest(cert)] = true
	r.mu.Unlock()
}

// any reports whether Refresh has learnt of a revoked certificate.
func (r *RevokedCertificates) any() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.digests) > 0
}

// Evict refreshes and then sweeps with ev every period until ctx ends: an
// external server admits a revoked device again each time it reconnects, so
// the period bounds how long it stays. A sweep lists every connection of
// every server, so while nothing is revoked there is none, but the first:
// it tells at start whether the system account answers.
func (r *RevokedCertificates) Evict(ctx context.Context, ev *bus.Evictor, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for first := true; ; first = false {
		if err := r.Refresh(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("looking up revoked certificates failed; sweeping with what is known", "err", err)
		}
		if first || r.any() {
			if _, err := ev.Sweep(ctx); err != nil && ctx.Err() == nil {
				r.log.Warn("sweeping the external bus for revoked devices failed", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

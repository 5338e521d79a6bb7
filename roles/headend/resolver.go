package headend

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/usapp/usapp/comms/pki"
)

// CertSource finds the certificate of a device by its LFDI (the CA's
// directory, over HTTPS). It returns an error wrapping ErrUnknownCert when the
// CA has issued no such certificate.
type CertSource interface {
	Certificate(ctx context.Context, lfdi string) (*x509.Certificate, error)
}

// ErrUnknownCert reports an LFDI that no certificate of the CA carries.
var ErrUnknownCert = errors.New("headend: no certificate for sender")

// Resolver gives the envelope opener the verifying key of each sender. It
// verifies a certificate once (chain, validity, CRL) and then serves it from
// memory, re-checking only the validity window per message; a new CRL clears
// the cache, so a revocation takes effect on the next message. Unknown
// senders are remembered for negativeTTL so that a flood of made-up LFDIs
// cannot turn into a flood of CA look-ups.
type Resolver struct {
	verifier *pki.Verifier
	source   CertSource

	mu       sync.RWMutex
	known    map[string]resolved
	negative map[string]time.Time // LFDI -> when the miss may be retried
}

type resolved struct {
	id  pki.Identity
	pub ed25519.PublicKey
}

const negativeTTL = time.Minute

// NewResolver returns a resolver verifying with v and fetching from src.
func NewResolver(v *pki.Verifier, src CertSource) *Resolver {
	return &Resolver{verifier: v, source: src, known: map[string]resolved{}, negative: map[string]time.Time{}}
}

// SigningKey implements envelope.KeyResolver.
func (r *Resolver) SigningKey(lfdi string, at time.Time) (ed25519.PublicKey, error) {
	r.mu.RLock()
	got, ok := r.known[lfdi]
	retry, missed := r.negative[lfdi]
	r.mu.RUnlock()
	if !ok {
		if missed && at.Before(retry) {
			return nil, ErrUnknownCert
		}
		var err error
		if got, err = r.fetch(lfdi, at); err != nil {
			return nil, err
		}
	}
	if at.After(got.id.Cert.NotAfter) && ok {
		// The device may have renewed: the directory holds its newest
		// certificate under the same identity.
		var err error
		if got, err = r.fetch(lfdi, at); err != nil {
			return nil, err
		}
	}
	if at.After(got.id.Cert.NotAfter) {
		return nil, pki.ErrExpired
	}
	if at.Before(got.id.Cert.NotBefore) {
		return nil, pki.ErrNotYetValid
	}
	return got.pub, nil
}

func (r *Resolver) fetch(lfdi string, at time.Time) (resolved, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cert, err := r.source.Certificate(ctx, lfdi)
	if err != nil {
		if errors.Is(err, ErrUnknownCert) {
			r.mu.Lock()
			r.negative[lfdi] = at.Add(negativeTTL)
			r.mu.Unlock()
		}
		return resolved{}, err
	}
	id, err := r.verifier.Verify(cert, at)
	if err != nil {
		return resolved{}, err
	}
	if id.LFDI != lfdi {
		return resolved{}, fmt.Errorf("%w: directory answered another device's certificate", ErrUnknownCert)
	}
	pub, ok := cert.PublicKey.(ed25519.PublicKey)
	if !ok {
		return resolved{}, fmt.Errorf("%w: sender key is not Ed25519", pki.ErrRole)
	}
	got := resolved{id: id, pub: pub}
	r.mu.Lock()
	r.known[lfdi] = got
	delete(r.negative, lfdi)
	r.mu.Unlock()
	return got, nil
}

// Identity returns the verified identity of a sender seen before.
func (r *Resolver) Identity(lfdi string) (pki.Identity, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	got, ok := r.known[lfdi]
	return got.id, ok
}

// SetCRL installs a new revocation list and forgets every verified
// certificate, so each sender is checked against it on its next message.
func (r *Resolver) SetCRL(der []byte, now time.Time) error {
	if err := r.verifier.SetCRL(der, now); err != nil {
		return err
	}
	r.mu.Lock()
	r.known = map[string]resolved{}
	r.negative = map[string]time.Time{}
	r.mu.Unlock()
	return nil
}

// WatchCRL keeps the resolver's revocation list current: it fetches the CRL
// every period until ctx ends. A failed fetch keeps the previous list (a
// verifier never forgets a revocation it has seen) and is logged.
func (r *Resolver) WatchCRL(ctx context.Context, fetch func(context.Context) ([]byte, error), now func() time.Time, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		der, err := fetch(ctx)
		if err == nil {
			err = r.SetCRL(der, now())
		}
		if err != nil && ctx.Err() == nil {
			log.Warn("crl refresh failed; keeping the previous list", "err", err)
		}
	}
}

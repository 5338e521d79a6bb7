package headend

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/usapp/usapp/comms/envelope"
	"github.com/usapp/usapp/comms/pki"
)

// CertSource finds the certificates of a device by its LFDI (the CA's
// directory, over HTTPS), newest first. It returns an error wrapping
// ErrUnknownCert when the CA has issued no such certificate.
type CertSource interface {
	Certificates(ctx context.Context, lfdi string) ([]*x509.Certificate, error)
}

// ErrUnknownCert reports an LFDI that no certificate of the CA carries.
var ErrUnknownCert = errors.New("headend: no certificate for sender")

// ErrDirectoryUnavailable reports a look-up the CA's directory did not answer
// (unreachable, an error status, a malformed answer). It says nothing about
// the sender, so a reading that needed the look-up is neither accepted nor
// rejected: the gateway sends it again and it is checked then.
var ErrDirectoryUnavailable = errors.New("headend: certificate directory unavailable")

// Resolver gives the envelope opener the verifying keys of each sender. It
// verifies a device's certificates once (chain, CRL, identity) and then
// serves them from memory, checking per message only which were valid at the
// signing time; a CRL with a new revocation clears the cache, so a
// revocation takes effect on the next message. A device that renewed with a new key has two current
// certificates, and both keys are offered, newest first. When neither
// verifies, the opener asks for a refresh (envelope.KeyRefresher): the device
// may have renewed since its certificates were read. Unknown senders are
// remembered for negativeTTL so that a flood of made-up LFDIs cannot turn
// into a flood of CA look-ups, and refreshes of one sender are at least
// refreshGap apart, so forged signatures cannot either. A directory that
// failed to answer is not asked again for downBackoff: while the CA is down,
// retransmissions fail fast instead of each waiting for its own time-out.
type Resolver struct {
	verifier *pki.Verifier
	source   CertSource

	mu        sync.RWMutex
	known     map[string][]resolved // LFDI -> its certificates, newest first
	negative  map[string]time.Time  // LFDI -> when the miss may be retried
	refreshMu sync.Mutex            // one refresh at a time, so a burst of messages signed with a new key fetches once
	refreshed map[string]time.Time  // LFDI -> wall-clock time of its last refresh
	downUntil time.Time             // wall-clock time before which the directory is not asked again
	downErr   error                 // why, wrapped in ErrDirectoryUnavailable
	revision  uint64                // the verifier's revision the known certificates were checked at
}

type resolved struct {
	id  pki.Identity
	pub ed25519.PublicKey
}

const (
	negativeTTL = time.Minute
	refreshGap  = time.Second
	downBackoff = 2 * time.Second
)

var _ envelope.KeyRefresher = (*Resolver)(nil)

// NewResolver returns a resolver verifying with v and fetching from src.
func NewResolver(v *pki.Verifier, src CertSource) *Resolver {
	return &Resolver{verifier: v, source: src, known: map[string][]resolved{}, negative: map[string]time.Time{},
		refreshed: map[string]time.Time{}, revision: v.Revision()}
}

// SigningKeys implements envelope.KeyResolver: the keys of the sender's
// certificates valid at the signing time, newest first.
func (r *Resolver) SigningKeys(lfdi string, at time.Time) ([]ed25519.PublicKey, error) {
	r.mu.RLock()
	certs, ok := r.known[lfdi]
	retry, missed := r.negative[lfdi]
	r.mu.RUnlock()
	if !ok {
		if missed && at.Before(retry) {
			return nil, ErrUnknownCert
		}
		var err error
		if certs, err = r.fetch(lfdi, at); err != nil {
			return nil, err
		}
	} else if at.After(certs[0].id.Cert.NotAfter) {
		// The device may have renewed since: the directory holds its newest
		// certificate under the same identity.
		var err error
		if certs, err = r.fetch(lfdi, at); err != nil {
			return nil, err
		}
	}
	return keysAt(certs, at)
}

// RefreshSigningKeys implements envelope.KeyRefresher: it reads the sender's
// certificates from the directory again, unless the directory answered for
// this sender less than refreshGap ago, and returns SigningKeys' answer.
func (r *Resolver) RefreshSigningKeys(lfdi string, at time.Time) ([]ed25519.PublicKey, error) {
	r.refreshMu.Lock()
	defer r.refreshMu.Unlock()
	if last, ok := r.refreshed[lfdi]; ok && time.Since(last) < refreshGap {
		return r.SigningKeys(lfdi, at)
	}
	certs, err := r.fetch(lfdi, at)
	if !errors.Is(err, ErrDirectoryUnavailable) {
		// An answer, a refusal included, stands for refreshGap. A failed
		// look-up does not: the next message must not be judged on the
		// stale cache, and the down back-off already spares the directory.
		r.refreshed[lfdi] = time.Now()
	}
	if err != nil {
		return nil, err
	}
	return keysAt(certs, at)
}

// keysAt returns the keys of certs (newest first) valid at at, or why none is.
func keysAt(certs []resolved, at time.Time) ([]ed25519.PublicKey, error) {
	var keys []ed25519.PublicKey
	for _, c := range certs {
		if !at.Before(c.id.Cert.NotBefore) && !at.After(c.id.Cert.NotAfter) && len(keys) < envelope.MaxSenderKeys {
			keys = append(keys, c.pub)
		}
	}
	switch {
	case len(keys) > 0:
		return keys, nil
	case at.Before(certs[len(certs)-1].id.Cert.NotBefore):
		return nil, pki.ErrNotYetValid
	}
	return nil, pki.ErrExpired
}

// fetch reads the sender's certificates from the directory (newest first, as
// CertSource promises), verifies each (chain, CRL, identity, key type; the
// validity window is checked per message) and caches those that pass. None
// passing is the first one's error.
func (r *Resolver) fetch(lfdi string, at time.Time) ([]resolved, error) {
	certs, err := r.lookUp(lfdi)
	if err != nil {
		if errors.Is(err, ErrUnknownCert) {
			r.mu.Lock()
			r.negative[lfdi] = at.Add(negativeTTL)
			r.mu.Unlock()
		}
		return nil, err
	}
	var (
		got   []resolved
		first error
	)
	for _, cert := range certs {
		c, err := r.verify(lfdi, cert)
		if err != nil {
			first = cmp.Or(first, err)
			continue
		}
		got = append(got, c)
	}
	if len(got) == 0 {
		return nil, cmp.Or(first, error(ErrUnknownCert))
	}
	r.mu.Lock()
	r.known[lfdi] = got
	delete(r.negative, lfdi)
	r.mu.Unlock()
	return got, nil
}

// lookUp asks the directory for lfdi's certificates. Any failure but
// ErrUnknownCert is the directory's, not the sender's: it is returned as
// ErrDirectoryUnavailable, and for downBackoff every look-up fails with it
// without asking.
func (r *Resolver) lookUp(lfdi string) ([]*x509.Certificate, error) {
	r.mu.RLock()
	down, downErr := r.downUntil, r.downErr
	r.mu.RUnlock()
	if time.Now().Before(down) {
		return nil, downErr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	certs, err := r.source.Certificates(ctx, lfdi)
	if err == nil || errors.Is(err, ErrUnknownCert) {
		return certs, err
	}
	err = fmt.Errorf("%w: %w", ErrDirectoryUnavailable, err)
	r.mu.Lock()
	r.downUntil, r.downErr = time.Now().Add(downBackoff), err
	r.mu.Unlock()
	return nil, err
}

// verify checks one directory certificate of lfdi. It is verified as of its
// own NotBefore: chain, revocation and identity do not depend on the time,
// and which message times it covers is keysAt's question.
func (r *Resolver) verify(lfdi string, cert *x509.Certificate) (resolved, error) {
	id, err := r.verifier.Verify(cert, cert.NotBefore)
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
	return resolved{id: id, pub: pub}, nil
}

// Identity returns the verified identity of a sender seen before (that of
// its newest certificate: role, name and binding survive a renewal).
func (r *Resolver) Identity(lfdi string) (pki.Identity, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	got, ok := r.known[lfdi]
	if !ok {
		return pki.Identity{}, false
	}
	return got[0].id, true
}

// SetCRL installs a new revocation list. When it revokes something the
// last one did not (pki.Verifier.Revision), every verified certificate is
// forgotten, so each sender is checked against it on its next message. The
// CA re-signs an unchanged list every minute; forgetting on each would send
// every sender's next reading to the directory again.
func (r *Resolver) SetCRL(der []byte, now time.Time) error {
	if err := r.verifier.SetCRL(der, now); err != nil {
		return err
	}
	rev := r.verifier.Revision()
	r.mu.Lock()
	defer r.mu.Unlock()
	if rev != r.revision {
		r.known = map[string][]resolved{}
		r.negative = map[string]time.Time{}
		r.revision = rev
	}
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

package pki

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"math/big"
	"sync"
	"time"
)

// Verifier checks certificates against one root and the latest CRL. It is
// what the bus, the head-end and the gateway use to turn a certificate into
// an Identity. It is safe for concurrent use.
type Verifier struct {
	root *x509.Certificate

	mu        sync.RWMutex
	revoked   map[string]bool
	crlNumber *big.Int
	revision  uint64            // see Revision
	sigOK     map[[32]byte]bool // certificates whose root signature checked out
	sigMax    int               // bound on sigOK; sigCacheMax but in tests
}

// sigCacheMax bounds the signature cache. When it is full, one entry makes
// room, the first in the map's randomised iteration order. Clearing it all
// instead would make a cyclic pass over a fleet larger than the cache (the
// bus re-checking every connected client after a revocation) miss on every
// certificate; random eviction keeps most of the cache's hits.
const sigCacheMax = 1 << 16

// NewVerifier returns a Verifier that trusts root and knows no revocations
// until SetCRL is called.
func NewVerifier(root *x509.Certificate) *Verifier {
	return &Verifier{root: root, revoked: map[string]bool{}, sigOK: map[[32]byte]bool{}, sigMax: sigCacheMax}
}

// SetCRL installs a CRL. It must be signed by the root, current at now
// (ThisUpdate ≤ now+skew, now ≤ NextUpdate) and not older than the CRL
// already installed; otherwise ErrBadCRL and the old list stays.
func (v *Verifier) SetCRL(der []byte, now time.Time) error {
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadCRL, err)
	}
	if err := crl.CheckSignatureFrom(v.root); err != nil {
		return fmt.Errorf("%w: %w", ErrBadCRL, err)
	}
	if crl.ThisUpdate.After(now.Add(backdate)) || crl.NextUpdate.IsZero() || now.After(crl.NextUpdate) {
		return fmt.Errorf("crl outside its validity period: %w", ErrBadCRL)
	}
	if crl.Number == nil {
		return fmt.Errorf("crl without number: %w", ErrBadCRL)
	}
	set := make(map[string]bool, len(crl.RevokedCertificateEntries))
	for _, e := range crl.RevokedCertificateEntries {
		set[serialKey(e.SerialNumber)] = true
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.crlNumber != nil && crl.Number.Cmp(v.crlNumber) < 0 {
		return fmt.Errorf("crl older than the installed one: %w", ErrBadCRL)
	}
	if !sameSet(v.revoked, set) {
		v.revision++
	}
	v.revoked, v.crlNumber = set, crl.Number
	return nil
}

// Revision counts the changes to the set of revoked serials. A CA re-signs
// its CRL every few minutes whether or not anything was revoked, so the CRL's
// number says little; Revision moves only when a list that revokes something
// different is installed. What re-checks certificates it accepted earlier
// (the bus, for its connected clients) need do so only when it has moved.
func (v *Verifier) Revision() uint64 {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.revision
}

// RevokedSerials lists the serials on the installed CRL, in no order.
func (v *Verifier) RevokedSerials() []*big.Int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	out := make([]*big.Int, 0, len(v.revoked))
	for k := range v.revoked {
		n, _ := new(big.Int).SetString(k, 16) // serialKey wrote it
		out = append(out, n)
	}
	return out
}

func sameSet(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range b {
		if !a[k] {
			return false
		}
	}
	return true
}

// Verify checks that cert chains to the root (ErrUnknownIssuer), is inside
// its validity period (ErrExpired, ErrNotYetValid), is not on the CRL
// (ErrRevoked), and carries a well-formed identity (ErrRole, ErrMalformed).
func (v *Verifier) Verify(cert *x509.Certificate, now time.Time) (Identity, error) {
	if cert == nil || len(cert.Raw) == 0 {
		return Identity{}, ErrMalformed
	}
	if err := v.checkSignature(cert); err != nil {
		return Identity{}, err
	}
	v.mu.RLock()
	revoked := v.revoked
	v.mu.RUnlock()
	return checkLeaf(cert, now, revoked)
}

// VerifyDER parses a DER certificate (ErrMalformed) and verifies it.
func (v *Verifier) VerifyDER(der []byte, now time.Time) (Identity, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return v.Verify(cert, now)
}

// checkSignature checks the root's signature over cert, caching successes
// by the certificate's hash: the ECDSA verification dominates the cost of
// Verify and a bus sees the same certificates over and over.
func (v *Verifier) checkSignature(cert *x509.Certificate) error {
	h := sha256.Sum256(cert.Raw)
	v.mu.RLock()
	ok := v.sigOK[h]
	v.mu.RUnlock()
	if ok {
		return nil
	}
	if err := signedBy(v.root, cert); err != nil {
		return err
	}
	v.mu.Lock()
	for k := range v.sigOK {
		if len(v.sigOK) < v.sigMax {
			break
		}
		delete(v.sigOK, k)
	}
	v.sigOK[h] = true
	v.mu.Unlock()
	return nil
}

func signedBy(root, cert *x509.Certificate) error {
	if !bytes.Equal(cert.RawIssuer, root.RawSubject) {
		return ErrUnknownIssuer
	}
	if err := cert.CheckSignatureFrom(root); err != nil {
		return fmt.Errorf("%w: %w", ErrUnknownIssuer, err)
	}
	return nil
}

// verifyLeaf is the full check without a Verifier (the CA's own view).
func verifyLeaf(root, cert *x509.Certificate, now time.Time, revoked map[string]bool) (Identity, error) {
	if cert == nil || len(cert.Raw) == 0 {
		return Identity{}, ErrMalformed
	}
	if err := signedBy(root, cert); err != nil {
		return Identity{}, err
	}
	return checkLeaf(cert, now, revoked)
}

// checkLeaf checks everything but the signature.
func checkLeaf(cert *x509.Certificate, now time.Time, revoked map[string]bool) (Identity, error) {
	if now.Before(cert.NotBefore) {
		return Identity{}, ErrNotYetValid
	}
	if now.After(cert.NotAfter) {
		return Identity{}, ErrExpired
	}
	if revoked[serialKey(cert.SerialNumber)] {
		return Identity{}, ErrRevoked
	}
	return IdentityOf(cert)
}

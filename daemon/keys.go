package daemon

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/usapp/usapp/comms/pki"
)

// HeadEndBundle is what a head-end publishes at GET /usapp/v1/headend so that
// gateways can seal to it and verify its receipts: its certificate, and its
// HPKE public key signed by the certificate's key. A gateway checks the
// certificate against its CA root (role headend) and the signature, so a
// man in the middle cannot substitute its own encryption key.
type HeadEndBundle struct {
	Version int    `json:"version"`
	Origin  string `json:"origin"`
	Cert    []byte `json:"cert"`     // DER
	HPKEKey []byte `json:"hpke_key"` // X25519 public key
	HPKESig []byte `json:"hpke_sig"` // Ed25519 over hpkeContext || origin || 0 || key
}

const hpkeContext = "usapp/v1 headend hpke key\x00"

// ErrBundle reports a head-end bundle that does not verify.
var ErrBundle = errors.New("daemon: head-end bundle does not verify")

func bundleMessage(origin string, key []byte) []byte {
	return append(append([]byte(hpkeContext+origin), 0), key...)
}

// NewHeadEndBundle signs the HPKE key with the head-end's key.
func NewHeadEndBundle(origin string, cert *x509.Certificate, key ed25519.PrivateKey, hpke *ecdh.PublicKey) HeadEndBundle {
	raw := hpke.Bytes()
	return HeadEndBundle{Version: 1, Origin: origin, Cert: cert.Raw, HPKEKey: raw,
		HPKESig: ed25519.Sign(key, bundleMessage(origin, raw))}
}

// Verify checks the bundle against the CA root and returns the head-end's
// identity, signing key and HPKE key.
func (b HeadEndBundle) Verify(v *pki.Verifier, now time.Time) (pki.Identity, ed25519.PublicKey, *ecdh.PublicKey, error) {
	cert, err := x509.ParseCertificate(b.Cert)
	if err != nil {
		return pki.Identity{}, nil, nil, fmt.Errorf("%w: %v", ErrBundle, err)
	}
	id, err := v.Verify(cert, now)
	if err != nil {
		return pki.Identity{}, nil, nil, fmt.Errorf("%w: %w", ErrBundle, err)
	}
	pub, ok := cert.PublicKey.(ed25519.PublicKey)
	if id.Role != pki.RoleHeadEnd || !ok {
		return pki.Identity{}, nil, nil, fmt.Errorf("%w: not a head-end Ed25519 certificate", ErrBundle)
	}
	if !ed25519.Verify(pub, bundleMessage(b.Origin, b.HPKEKey), b.HPKESig) {
		return pki.Identity{}, nil, nil, fmt.Errorf("%w: bad signature on the HPKE key", ErrBundle)
	}
	hk, err := ecdh.X25519().NewPublicKey(b.HPKEKey)
	if err != nil {
		return pki.Identity{}, nil, nil, fmt.Errorf("%w: %v", ErrBundle, err)
	}
	return id, pub, hk, nil
}

func (b HeadEndBundle) marshal() ([]byte, error) { return json.Marshal(b) }

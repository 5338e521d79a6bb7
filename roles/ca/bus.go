package ca

import (
	"crypto/x509"
	"time"

	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/platform/bus"
)

// Verifier returns the CA's own verifier, kept current with its CRL.
func (a *Authority) Verifier() *pki.Verifier { return a.verifier }

// BusVerifier lets the bus authenticate clients with a pki.Verifier: chain to
// the root, validity and revocation, then the role from the certificate. It
// is a bus.Revisioned, so the bus checks its connected clients again when the
// verifier's revoked set changes.
func BusVerifier(v *pki.Verifier) bus.PeerVerifier { return busVerifier{v} }

type busVerifier struct{ v *pki.Verifier }

var _ bus.Revisioned = busVerifier{}

func (b busVerifier) Revision() uint64 { return b.v.Revision() }

func (b busVerifier) VerifyPeer(cert *x509.Certificate, now time.Time) (bus.Identity, error) {
	id, err := b.v.Verify(cert, now)
	if err != nil {
		return bus.Identity{}, err
	}
	return bus.Identity{LFDI: id.LFDI, Role: string(id.Role)}, nil
}

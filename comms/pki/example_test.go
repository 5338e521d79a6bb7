package pki_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/usapp/usapp/comms/pki"
)

// A meter enrols once with an operator's token; the head-end then checks it.
func ExampleCA_Enroll() {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca, _ := pki.NewCA("USaPP Root", caKey, pki.NewMemState(), now, 10*365*24*time.Hour)

	token, _ := ca.NewToken(pki.RoleMeter, "meter-0001", "", 24*time.Hour, now)

	_, meterKey, _ := ed25519.GenerateKey(rand.Reader)
	csr, _ := pki.NewEd25519CSR(meterKey, "meter-0001")
	cert, _ := ca.Enroll(token, csr, now)

	_, err := ca.Enroll(token, csr, now)
	fmt.Println("token reuse refused:", errors.Is(err, pki.ErrTokenUsed))

	id, _ := pki.NewVerifier(ca.Certificate()).Verify(cert, now)
	fmt.Println(id.Role, id.Name, len(id.LFDI))
	// Output:
	// token reuse refused: true
	// meter meter-0001 40
}

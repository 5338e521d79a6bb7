package pkitest

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"github.com/usapp/usapp/comms/pki"
)

// EnrolMeters enrols a meter per benchmark iteration, each with a new token
// minted at now, and reports the rate in meters/s: the CA's throughput when
// a fleet boots. The request is prepared once, so the figure is the CA's
// work and its state's, not the device's key generation.
func EnrolMeters(b *testing.B, ca *pki.CA, now time.Time) {
	b.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	csr, err := pki.NewCSR(key, "m")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		tok, err := ca.NewToken(pki.RoleMeter, "m", "", time.Hour, now)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ca.Enroll(tok, csr, now); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "meters/s")
}

package pki_test

import (
	"testing"

	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/comms/pki/pkitest"
)

// BenchmarkVerify compares the first sight of a certificate (ECDSA P-256
// signature check) with a repeat sight (cached signature, time and CRL
// checks only), which is what a bus sees for long-lived connections.
func BenchmarkVerify(b *testing.B) {
	ca := newCA(b)
	cert, _ := enroll(b, ca, pki.RoleMeter, "m", "")
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			if _, err := pki.NewVerifier(ca.Certificate()).Verify(cert, t0); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "certs/s")
	})
	b.Run("cached", func(b *testing.B) {
		v := pki.NewVerifier(ca.Certificate())
		for b.Loop() {
			if _, err := v.Verify(cert, t0); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "certs/s")
	})
}

// BenchmarkEnroll measures token creation plus enrolment of a prepared
// request on the memory state. comms/pki/dbstate's BenchmarkEnrollState
// compares the durable states.
func BenchmarkEnroll(b *testing.B) {
	pkitest.EnrolMeters(b, newCA(b), t0)
}

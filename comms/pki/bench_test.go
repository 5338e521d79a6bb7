package pki_test

import (
	"testing"
	"time"

	"github.com/usapp/usapp/comms/pki"
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
// request: the CA's throughput when a fleet boots.
func BenchmarkEnroll(b *testing.B) {
	ca := newCA(b)
	csr := csrFor(b, edKey(b), "m")
	for b.Loop() {
		tok, err := ca.NewToken(pki.RoleMeter, "m", "", time.Hour, t0)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ca.Enroll(tok, csr, t0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "meters/s")
}

package est_test

import (
	"testing"

	"github.com/usapp/usapp/comms/pki"
)

// BenchmarkEnrollHTTPS is a full enrolment over TLS 1.3 (connection reused):
// token lookup, CSR build and check, signing, encoding both ways.
func BenchmarkEnrollHTTPS(b *testing.B) {
	e := newEnv(b)
	c := e.client()
	key := newKey(b)
	for b.Loop() {
		b.StopTimer()
		tok := e.token(b, pki.RoleMeter, "m")
		b.StartTimer()
		if _, err := c.Enroll(b.Context(), tok, key, "m"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "enrolments/s")
}

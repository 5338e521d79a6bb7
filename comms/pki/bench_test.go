package pki_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
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
	enrolMeters(b, newCA(b))
}

// enrolMeters enrols a meter per iteration (a new token each time) and
// reports the rate.
func enrolMeters(b *testing.B, ca *pki.CA) {
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

// BenchmarkEnrollFileState measures what the durable file state costs an
// enrolment as the fleet grows: FileState rewrites (and fsyncs) its whole
// file at each of an enrolment's four changes (token stored, token used,
// serial, audit record), so the cost grows with the devices already issued.
// The memory state is the same work with nothing durable.
//
//	go test ./comms/pki -run xxx -bench EnrollFileState -benchtime 20x
func BenchmarkEnrollFileState(b *testing.B) {
	for _, fleet := range []int{0, 1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("issued=%d", fleet), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "state.json")
			if err := os.WriteFile(path, stateWithIssued(fleet), 0o600); err != nil {
				b.Fatal(err)
			}
			st, err := pki.OpenFileState(path)
			if err != nil {
				b.Fatal(err)
			}
			key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				b.Fatal(err)
			}
			ca, err := pki.NewCA("USaPP Test Root", key, st, t0, 10*365*24*time.Hour)
			if err != nil {
				b.Fatal(err)
			}
			enrolMeters(b, ca)
			if fi, err := os.Stat(path); err == nil {
				b.ReportMetric(float64(fi.Size())/1e6, "MB-state")
			}
		})
	}
}

// stateWithIssued is a state file whose audit trail lists n certificates.
func stateWithIssued(n int) []byte {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, `{"version":1,"serial":%d,"tokens":{},"revoked":{},"issued":[`, n)
	for i := range n {
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `{"serial":"%x","lfdi":"%040X","subject":"OU=meter,CN=m-%d","not_after":"2031-01-01T00:00:00Z"}`, i+1, i+1, i)
	}
	buf.WriteString("]}")
	return buf.Bytes()
}

package pki_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"
	"time"

	"github.com/usapp/usapp/comms/pki"
)

// fuzzCA makes the CA whose certificates and CRLs seed a fuzz target.
func fuzzCA(f *testing.F) *pki.CA {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	ca, err := pki.NewCA("fuzz root", key, pki.NewMemState(), t0, 24*time.Hour*3650)
	if err != nil {
		f.Fatal(err)
	}
	return ca
}

// FuzzVerifyDER feeds arbitrary bytes to the certificate path: it must never
// panic, and whatever it accepts must be a non-CA leaf of the root with a
// known role.
func FuzzVerifyDER(f *testing.F) {
	ca := fuzzCA(f)
	cert, _ := enroll(f, ca, pki.RoleMeter, "m", "")
	f.Add(cert.Raw)
	f.Add(ca.Certificate().Raw)
	f.Add([]byte{0x30, 0x00})
	v := pki.NewVerifier(ca.Certificate())
	f.Fuzz(func(t *testing.T, der []byte) {
		id, err := v.VerifyDER(der, t0)
		if err != nil {
			return
		}
		if !id.Role.Valid() || id.Cert.IsCA || id.LFDI != pki.LFDI(der) {
			t.Fatalf("accepted a bad identity: %+v", id)
		}
	})
}

// FuzzSetCRL: arbitrary bytes never panic and are never installed unless
// signed by the root.
func FuzzSetCRL(f *testing.F) {
	ca := fuzzCA(f)
	good, _ := ca.CRL(t0)
	f.Add(good)
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x01})
	f.Fuzz(func(t *testing.T, der []byte) {
		v := pki.NewVerifier(ca.Certificate())
		_ = v.SetCRL(der, t0)
	})
}

package est

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/usapp/usapp/comms/pki"
)

// FuzzDecodeCSR: arbitrary bodies never panic; every failure is ErrBadCSR or
// ErrTooLarge; every success is a request whose signature verifies.
func FuzzDecodeCSR(f *testing.F) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	csr, err := pki.NewEd25519CSR(key, "seed")
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(base64.StdEncoding.EncodeToString(csr.Raw)))
	f.Add([]byte("MAA="))
	f.Add([]byte(" \r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := decodeCSR(body)
		if err != nil {
			if !errors.Is(err, pki.ErrBadCSR) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if got.CheckSignature() != nil {
			t.Fatal("accepted a request with a bad signature")
		}
	})
}

package envelope

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
)

func TestVerify(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	h := Header{V: 1, Kind: "rejection", Sender: strings.Repeat("AB", 20), Counter: 3, Time: 1}
	signed, err := Sign(key, h, []byte("body"))
	if err != nil {
		t.Fatal(err)
	}
	got, body, err := Verify(signed, pub)
	if err != nil || got != h || string(body) != "body" {
		t.Fatalf("Verify = %+v, %q, %v", got, body, err)
	}
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	if _, _, err := Verify(signed, other); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("other key: %v", err)
	}
	bad := append([]byte(nil), signed...)
	bad[len(bad)-70] ^= 1
	if _, _, err := Verify(bad, pub); err == nil {
		t.Fatal("tampered message verified")
	}
}

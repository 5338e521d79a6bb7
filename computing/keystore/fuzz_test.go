package keystore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"errors"
	"testing"
)

// FuzzOpenKeyFile: arbitrary key files never panic and every failure is
// ErrCorrupt; a file only opens under the name it was sealed for.
func FuzzOpenKeyFile(f *testing.F) {
	block, _ := aes.NewCipher(make([]byte, 32))
	aead, _ := cipher.NewGCM(block)
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	good, err := sealKeyFile(aead, "k", key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good, "k")
	f.Add(good, "j")
	f.Add([]byte("USKS\x01"), "k")
	f.Add([]byte{}, "")
	f.Fuzz(func(t *testing.T, raw []byte, name string) {
		got, err := openKeyFile(aead, name, raw)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if checkKeyType(got) != nil {
			t.Fatalf("decoded an unsupported key %T", got)
		}
	})
}

package keystore

import (
	"crypto"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"fmt"
)

// Key file layout: magic | version | nonce | AES-256-GCM ciphertext.
const (
	keyMagic   = "USKS"
	keyVersion = 1
	headerLen  = len(keyMagic) + 1
	nonceLen   = 12
	tagLen     = 16
	maxKeyFile = 16 << 10
)

// additionalData binds a sealed key to its format and to its name.
func additionalData(name string) []byte {
	ad := make([]byte, 0, headerLen+1+len(name))
	ad = append(ad, keyMagic...)
	ad = append(ad, keyVersion, 0)
	return append(ad, name...)
}

// checkKeyType refuses anything the store does not round-trip exactly.
func checkKeyType(key crypto.PrivateKey) error {
	switch k := key.(type) {
	case ed25519.PrivateKey:
		if len(k) == ed25519.PrivateKeySize {
			return nil
		}
	case *ecdsa.PrivateKey:
		if k != nil {
			return nil
		}
	case *ecdh.PrivateKey:
		// PKCS#8 turns NIST ECDH keys back into *ecdsa.PrivateKey.
		if k != nil && k.Curve() == ecdh.X25519() {
			return nil
		}
	}
	return fmt.Errorf("%T: %w", key, ErrUnsupportedKey)
}

// sealKeyFile encrypts key for name.
func sealKeyFile(aead cipher.AEAD, name string, key crypto.PrivateKey) ([]byte, error) {
	if err := checkKeyType(key); err != nil {
		return nil, err
	}
	plain, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsupportedKey, err)
	}
	defer clear(plain)
	out := make([]byte, headerLen+nonceLen, headerLen+nonceLen+len(plain)+tagLen)
	copy(out, keyMagic)
	out[len(keyMagic)] = keyVersion
	nonce := out[headerLen:]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("keystore: nonce: %w", err)
	}
	return aead.Seal(out, nonce, plain, additionalData(name)), nil
}

// openKeyFile is the key-file decoder: every failure is ErrCorrupt.
func openKeyFile(aead cipher.AEAD, name string, raw []byte) (crypto.PrivateKey, error) {
	if len(raw) < headerLen+nonceLen+tagLen || len(raw) > maxKeyFile ||
		string(raw[:len(keyMagic)]) != keyMagic || raw[len(keyMagic)] != keyVersion {
		return nil, fmt.Errorf("header: %w", ErrCorrupt)
	}
	nonce := raw[headerLen : headerLen+nonceLen]
	plain, err := aead.Open(nil, nonce, raw[headerLen+nonceLen:], additionalData(name))
	if err != nil {
		return nil, fmt.Errorf("authentication: %w", ErrCorrupt)
	}
	defer clear(plain)
	key, err := x509.ParsePKCS8PrivateKey(plain)
	if err != nil {
		return nil, fmt.Errorf("pkcs8: %w", ErrCorrupt)
	}
	if checkKeyType(key) != nil {
		return nil, fmt.Errorf("key type: %w", ErrCorrupt)
	}
	return key, nil
}

package pki

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
)

// NewCSR builds a signed PKCS#10 request for signer's key with CommonName
// name. The CA ignores the subject (identity comes from the token or the
// current certificate); it is there for logs and for standard tooling.
func NewCSR(signer crypto.Signer, name string) (*x509.CertificateRequest, error) {
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: name},
	}, signer)
	if err != nil {
		return nil, fmt.Errorf("pki: create csr: %w", err)
	}
	return x509.ParseCertificateRequest(der)
}

// NewEd25519CSR builds a request for an Ed25519 device key.
func NewEd25519CSR(key ed25519.PrivateKey, name string) (*x509.CertificateRequest, error) {
	return NewCSR(key, name)
}

package pki

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net"
	"strings"
)

// NewCSR builds a signed PKCS#10 request for signer's key with CommonName
// name. The CA ignores the subject (identity comes from the token or the
// current certificate); it is there for logs and for standard tooling.
// hosts (DNS names or IP addresses) are where a service enrolling with a
// token serves (CA.Enroll); devices give none.
func NewCSR(signer crypto.Signer, name string, hosts ...string) (*x509.CertificateRequest, error) {
	tmpl := &x509.CertificateRequest{Subject: pkix.Name{CommonName: name}}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, signer)
	if err != nil {
		return nil, fmt.Errorf("pki: create csr: %w", err)
	}
	return x509.ParseCertificateRequest(der)
}

// NewEd25519CSR builds a request for an Ed25519 device key.
func NewEd25519CSR(key ed25519.PrivateKey, name string) (*x509.CertificateRequest, error) {
	return NewCSR(key, name)
}

// MaxHosts bounds the host names of a service certificate's request.
const MaxHosts = 16

// requestedHosts lists a request's DNS names and IP addresses, as strings
// the certificate template takes.
func requestedHosts(csr *x509.CertificateRequest) ([]string, error) {
	n := len(csr.DNSNames) + len(csr.IPAddresses)
	if n > MaxHosts {
		return nil, fmt.Errorf("%w: %d host names (at most %d)", ErrBadCSR, n, MaxHosts)
	}
	if len(csr.EmailAddresses) > 0 || len(csr.URIs) > 0 {
		return nil, fmt.Errorf("%w: only DNS names and IP addresses may be requested", ErrBadCSR)
	}
	hosts := make([]string, 0, n)
	for _, ip := range csr.IPAddresses {
		hosts = append(hosts, ip.String())
	}
	for _, d := range csr.DNSNames {
		if d == "" || strings.ContainsAny(d, " /\\*") {
			return nil, fmt.Errorf("%w: host name %q", ErrBadCSR, d)
		}
		hosts = append(hosts, d)
	}
	return hosts, nil
}

package demo

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"time"

	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/comms/pki/est"
	"github.com/usapp/usapp/sim/clock"
)

// identity is an enrolled device or service: its certificate and key.
type identity struct {
	lfdi string
	cert *x509.Certificate
	key  ed25519.PrivateKey
}

func (id identity) tlsCertificate() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{id.cert.Raw}, PrivateKey: id.key, Leaf: id.cert}
}

// clientTLS is the TLS configuration of a client presenting id. Time comes
// from the simulation clock, so certificates issued in simulated time verify.
func clientTLS(id *identity, root *x509.Certificate, clk clock.Clock) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(root)
	c := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool, Time: clk.Now}
	if id != nil {
		c.Certificates = []tls.Certificate{id.tlsCertificate()}
	}
	return c
}

func estClient(url string, id *identity, root *x509.Certificate, clk clock.Clock) *est.Client {
	return &est.Client{BaseURL: url, HTTP: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: clientTLS(id, root, clk), MaxIdleConnsPerHost: 16}}}
}

// enrol generates a key and enrols it with a one-time token over EST.
func enrol(ctx context.Context, c *est.Client, token, name string) (*identity, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	cert, err := c.Enroll(ctx, token, key, name)
	if err != nil {
		return nil, fmt.Errorf("enrol %s: %w", name, err)
	}
	return &identity{lfdi: pki.LFDI(cert.Raw), cert: cert, key: key}, nil
}

// issueService gives an in-process service (head-end, bus) its identity
// directly from the CA, as an operator would at installation.
func issueService(ca *pki.CA, role pki.Role, name string, hosts []string, now time.Time) (*identity, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	var cert *x509.Certificate
	if hosts != nil {
		cert, err = ca.IssueServer(role, name, hosts, key.Public(), now)
	} else {
		cert, err = ca.Issue(role, name, "", key.Public(), now)
	}
	if err != nil {
		return nil, err
	}
	return &identity{lfdi: pki.LFDI(cert.Raw), cert: cert, key: key}, nil
}

package daemon

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/comms/pki/est"
	"github.com/usapp/usapp/internal/durable"
	"github.com/usapp/usapp/roles/ca"
)

// An external NATS server (bus.url) is not a USaPP role, but its clients
// trust it only with a certificate of the CA (A1): EnrolBus obtains the first
// one with the CA's bus service token, RenewBus renews it with itself.

// BusEnrolment asks a CA for an external NATS server's TLS certificate
// (role bus), the one its clients trust because they trust the CA's root.
type BusEnrolment struct {
	CAURL     string   // the CA (https://...)
	RootFile  string   // the CA's root certificate
	TokenFile string   // the CA's service token file (its "bus" line)
	Hosts     []string // names and addresses clients reach the server by
	CertFile  string   // where the certificate is written (PEM)
	KeyFile   string   // where its new Ed25519 key is written (PKCS #8 PEM, mode 0600)
}

// EnrolBus enrols a new key with the bus service token and writes the
// certificate and key for the server's tls block.
func EnrolBus(ctx context.Context, e BusEnrolment) (*x509.Certificate, error) {
	if e.CAURL == "" || len(e.Hosts) == 0 || e.CertFile == "" || e.KeyFile == "" {
		return nil, errors.New("enrol-bus needs the CA's URL, at least one host, and the certificate and key files")
	}
	root, err := readRoot(e.RootFile)
	if err != nil {
		return nil, err
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	// The key first: a certificate without its key would be of no use.
	if err := writeKeyFile(e.KeyFile, key); err != nil {
		return nil, err
	}
	anon := &est.Client{BaseURL: e.CAURL, HTTP: httpClient(clientTLS(root))}
	return serviceCert(ctx, anon, root, service{role: pki.RoleBus, name: "bus", hosts: e.Hosts, key: key,
		path: e.CertFile, tokenFile: e.TokenFile})
}

// writeKeyFile writes key as a server's tls.key_file: PKCS #8 PEM, mode 0600.
func writeKeyFile(path string, key ed25519.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return durable.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

// BusRenewal renews the certificate EnrolBus wrote.
type BusRenewal struct {
	CAURL    string // the CA (https://...)
	RootFile string // the CA's root certificate
	CertFile string // the server's certificate (PEM), replaced when renewed
	KeyFile  string // its key, which is kept
	// Force renews a certificate that is not yet due.
	Force bool
	// Now is the clock the due date is read by; nil is time.Now.
	Now func() time.Time
}

// RenewBus renews the external server's certificate over EST
// (simplereenroll), authenticated by the certificate itself, once it is in
// the last fifth of its validity (pki.NeedsRotation), as a running head-end
// renews its own, or at once with Force. It keeps the key, as every service
// does (see credential), so that the files the server reloads always match;
// the CA keeps the names. It returns the certificate now in CertFile and
// whether it is a new one. A certificate that has expired or was revoked
// cannot renew itself: enrol again with a new token (EnrolBus).
func RenewBus(ctx context.Context, r BusRenewal) (*x509.Certificate, bool, error) {
	now := time.Now()
	if r.Now != nil {
		now = r.Now()
	}
	root, err := readRoot(r.RootFile)
	if err != nil {
		return nil, false, err
	}
	c, err := busCredential(r, root, now)
	if err != nil {
		return nil, false, err
	}
	if !r.Force && !pki.NeedsRotation(c.certificate(), now) {
		return c.certificate(), false, nil
	}
	if _, err := c.renew(ctx, r.CAURL, root); err != nil {
		if errors.Is(err, pki.ErrRevoked) {
			return nil, false, &Hinted{err, "the CA revoked it: enrol the server again with a new bus service token (usapp ca enrol-bus)"}
		}
		return nil, false, err
	}
	return c.certificate(), true, nil
}

// busCredential reads the server's certificate and key, and checks that they
// are a pair and a current bus certificate of root, the conditions under
// which the CA renews it.
func busCredential(r BusRenewal, root *x509.Certificate, now time.Time) (*credential, error) {
	pair, err := tls.LoadX509KeyPair(r.CertFile, r.KeyFile)
	if err != nil {
		return nil, &Hinted{fmt.Errorf("the server's certificate and key: %w", err),
			"name the files usapp ca enrol-bus wrote (the server's tls.cert_file and tls.key_file)"}
	}
	key, ok := pair.PrivateKey.(ed25519.PrivateKey)
	if !ok {
		return nil, &Hinted{fmt.Errorf("%s is not an Ed25519 key", r.KeyFile), "name the key usapp ca enrol-bus wrote"}
	}
	id, err := pki.NewVerifier(root).Verify(pair.Leaf, now)
	if err == nil && id.Role != pki.RoleBus {
		err = fmt.Errorf("it is a %s certificate, not a bus one", id.Role)
	}
	switch {
	case errors.Is(err, pki.ErrUnknownIssuer):
		return nil, &Hinted{fmt.Errorf("%s: %w", r.CertFile, err),
			"--root must be the root of the CA that issued it (that CA's ca.root_file)"}
	case err != nil:
		return nil, &Hinted{fmt.Errorf("%s cannot renew itself: %w", r.CertFile, err),
			"enrol the server again with a new bus service token: usapp ca enrol-bus"}
	}
	return newServiceCredential(id.Name, r.CertFile, pair.Leaf, key), nil
}

// readRoot reads the CA's root certificate a command was given.
func readRoot(path string) (*x509.Certificate, error) {
	root, err := ca.ReadCertificate(path)
	if err != nil {
		return nil, &Hinted{err, "copy the file the CA writes to its ca.root_file"}
	}
	return root, nil
}

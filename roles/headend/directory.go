package headend

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"

	"github.com/usapp/usapp/comms/pki/est"
)

// ESTDirectory resolves certificates through the CA's HTTP directory.
func ESTDirectory(c *est.Client) CertSource { return estDirectory{c} }

// ESTSerials finds certificates by serial through the CA's HTTP directory,
// for RevokedCertificates.
func ESTSerials(c *est.Client) SerialSource { return estDirectory{c} }

type estDirectory struct{ c *est.Client }

func (d estDirectory) Certificates(ctx context.Context, lfdi string) ([]*x509.Certificate, error) {
	certs, err := d.c.Certificates(ctx, lfdi)
	if errors.Is(err, est.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrUnknownCert, lfdi)
	}
	return certs, err
}

// CertificateBySerial fetches the certificate the CA issued with serial; an
// error wrapping ErrUnknownCert when it keeps none.
func (d estDirectory) CertificateBySerial(ctx context.Context, serial *big.Int) (*x509.Certificate, error) {
	cert, err := d.c.CertificateBySerial(ctx, serial)
	if errors.Is(err, est.ErrNotFound) {
		return nil, fmt.Errorf("%w: serial %x", ErrUnknownCert, serial)
	}
	return cert, err
}

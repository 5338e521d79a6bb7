package headend

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/usapp/usapp/comms/pki/est"
)

// ESTDirectory resolves certificates through the CA's HTTP directory.
func ESTDirectory(c *est.Client) CertSource { return estDirectory{c} }

type estDirectory struct{ c *est.Client }

func (d estDirectory) Certificates(ctx context.Context, lfdi string) ([]*x509.Certificate, error) {
	certs, err := d.c.Certificates(ctx, lfdi)
	if errors.Is(err, est.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrUnknownCert, lfdi)
	}
	return certs, err
}

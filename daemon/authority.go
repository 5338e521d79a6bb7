package daemon

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/comms/pki/est"
	"github.com/usapp/usapp/computing/keystore"
	"github.com/usapp/usapp/config"
	"github.com/usapp/usapp/roles/ca"
)

// headEndAuthority is what the head-end needs of its CA (A1): the root,
// where the CA answers (directory, CRL, renewals), the head-end's own
// credential, a certificate for the bus it embeds, and the verifiers its
// resolver and its bus check devices with. The CA runs inside the head-end
// unless ca.url names one elsewhere (`usapp serve ca`): separating the two
// keeps the issuing key off the machine that faces the gateways, as deployed
// metering PKIs (Germany's SM-PKI, Great Britain's SMKI) run their CAs as
// systems of their own.
type headEndAuthority struct {
	url  string
	root *x509.Certificate
	head *credential
	// verifier is the resolver's: its CRL is kept fresh from the CA's.
	verifier *pki.Verifier
	// busVerifier checks the bus's clients; the embedded CA's own verifier
	// sees a revocation at once.
	busVerifier *pki.Verifier
	// busCert certifies the bus's key for hosts.
	busCert func(hosts []string, key ed25519.PrivateKey) (*x509.Certificate, error)
	stop    func()
}

// openAuthority starts the embedded CA or reaches the one at ca.url.
func openAuthority(ctx context.Context, cfg *config.Config, ks keystore.Keystore, log *slog.Logger) (*headEndAuthority, error) {
	if cfg.CA.URL != "" {
		return externalAuthority(ctx, cfg, ks)
	}
	auth, err := startCA(cfg, ks, log)
	if err != nil {
		return nil, err
	}
	head, err := headEndCredential(cfg, ks, auth.CA())
	if err != nil {
		auth.Shutdown(context.Background())
		return nil, err
	}
	root := auth.CA().Certificate()
	return &headEndAuthority{url: auth.URL(), root: root, head: head,
		verifier: pki.NewVerifier(root), busVerifier: auth.Verifier(),
		// The bus's certificate is issued at each start, for where it now
		// listens; the file is the one the renewal loop keeps current.
		busCert: func(hosts []string, key ed25519.PrivateKey) (*x509.Certificate, error) {
			cert, err := auth.CA().IssueServer(pki.RoleBus, "bus", hosts, key.Public(), time.Now())
			if err != nil {
				return nil, err
			}
			return cert, ca.WriteCertificate(filepath.Join(cfg.DataDir, "bus.pem"), cert)
		},
		stop: func() { auth.Shutdown(context.Background()) },
	}, nil
}

// externalAuthority enrols the head-end (and, when asked, its bus) with the
// CA at ca.url, with the tokens that CA wrote to its service_token_file.
func externalAuthority(ctx context.Context, cfg *config.Config, ks keystore.Keystore) (*headEndAuthority, error) {
	if cfg.CA.RootFile == "" {
		return nil, &Hinted{errors.New("a head-end with ca.url set needs ca.root_file"),
			"copy the root the CA wrote (its data_dir/ca/ca.pem, or its own ca.root_file) and name it in ca.root_file"}
	}
	root, err := ca.ReadCertificate(cfg.CA.RootFile)
	if err != nil {
		return nil, &Hinted{err, "ca.root_file must hold the PEM root the CA wrote (its data_dir/ca/ca.pem)"}
	}
	anon := &est.Client{BaseURL: cfg.CA.URL, HTTP: httpClient(clientTLS(root))}
	key, err := ed25519Key(ks, "headend")
	if err != nil {
		return nil, err
	}
	path := filepath.Join(cfg.DataDir, "headend.pem")
	cert, err := serviceCert(ctx, anon, root, service{role: pki.RoleHeadEnd, name: cfg.HeadEnd.Name, key: key,
		path: path, tokenFile: cfg.CA.TokenFile})
	if err != nil {
		return nil, err
	}
	v := pki.NewVerifier(root)
	return &headEndAuthority{url: cfg.CA.URL, root: root, head: newServiceCredential(cfg.HeadEnd.Name, path, cert, key),
		verifier: v, busVerifier: v,
		busCert: func(hosts []string, key ed25519.PrivateKey) (*x509.Certificate, error) {
			return serviceCert(ctx, anon, root, service{role: pki.RoleBus, name: "bus", hosts: hosts, key: key,
				path: filepath.Join(cfg.DataDir, "bus.pem"), tokenFile: cfg.CA.TokenFile})
		},
		stop: func() {},
	}, nil
}

// service is a certificate a service daemon holds from a CA it does not embed.
type service struct {
	role      pki.Role
	name      string
	hosts     []string // where it serves; each must be in the certificate
	key       ed25519.PrivateKey
	path      string // where the certificate is kept (PEM)
	tokenFile string // lines "role token", read when it must enrol
}

// serviceCert returns s's certificate from the CA at anon: the one kept at
// s.path, or one enrolled with the token for s.role (see keptServiceCert).
func serviceCert(ctx context.Context, anon *est.Client, root *x509.Certificate, s service) (*x509.Certificate, error) {
	cert, err := keptServiceCert(root, s, func() (*x509.Certificate, error) {
		tok, err := serviceToken(s.tokenFile, s.role)
		if err != nil {
			return nil, err
		}
		cert, err := anon.EnrollService(ctx, tok, s.key, s.name, s.hosts)
		if err != nil {
			return nil, fmt.Errorf("enrol the %s: %w", s.role, err)
		}
		return cert, nil
	})
	if err != nil {
		return nil, err
	}
	for _, h := range s.hosts {
		if err := cert.VerifyHostname(h); err != nil {
			return nil, &Hinted{fmt.Errorf("the %s certificate in %s does not name %s", s.role, s.path, h),
				"the listen address changed since it was issued: remove the file and give a new " + string(s.role) + " token in ca.token_file"}
		}
	}
	return cert, nil
}

// keptServiceCert returns the certificate saved at s.path while usableService
// holds for it, else a new one from obtain, saved there. Renewing is the
// head-end's renewal loop's (with the same key: a service's key is in what
// its peers fetched at their start), so that a CA that is down when the
// head-end starts does not keep it from serving while its certificate is
// valid.
func keptServiceCert(root *x509.Certificate, s service, obtain func() (*x509.Certificate, error)) (*x509.Certificate, error) {
	cert, err := ca.ReadCertificate(s.path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if err == nil && usableService(cert, root, s) {
		return cert, nil
	}
	if cert, err = obtain(); err != nil {
		return nil, err
	}
	return cert, ca.WriteCertificate(s.path, cert)
}

// usableService reports whether a saved certificate still serves s: issued
// by root, unexpired, of s's role and for s's key. Anything else (a switch
// from the embedded CA, an expiry while stopped) enrols again.
func usableService(cert *x509.Certificate, root *x509.Certificate, s service) bool {
	id, err := pki.NewVerifier(root).Verify(cert, time.Now())
	pub, ok := cert.PublicKey.(ed25519.PublicKey)
	return err == nil && id.Role == s.role && ok && pub.Equal(s.key.Public())
}

// serviceToken reads the token for role from a service token file (lines
// "role token", as the CA writes its service_token_file).
func serviceToken(path string, role pki.Role) (string, error) {
	hint := "copy the file the CA writes to its ca.service_token_file and name it in ca.token_file"
	if path == "" {
		return "", &Hinted{fmt.Errorf("the %s must enrol and ca.token_file is empty", role), hint}
	}
	f, err := os.Open(path)
	if err != nil {
		return "", &Hinted{err, hint}
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if r, tok, ok := strings.Cut(strings.TrimSpace(sc.Text()), " "); ok && r == string(role) {
			return strings.TrimSpace(tok), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", &Hinted{fmt.Errorf("%s has no %s token", path, role), hint}
}

// mintServiceTokens writes one-time tokens for a head-end named headEnd and
// for its bus to path, one "role token" pair a line.
func mintServiceTokens(c *pki.CA, headEnd, path string) error {
	var b strings.Builder
	for _, s := range []struct {
		role pki.Role
		name string
	}{{pki.RoleHeadEnd, headEnd}, {pki.RoleBus, "bus"}} {
		tok, err := c.NewToken(s.role, s.name, "", tokenLife, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %s\n", s.role, tok)
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

// Package daemon runs one USaPP role as a long-lived process from a
// configuration file: what `usapp serve ROLE --config FILE` does. It wires
// the role packages to real infrastructure (keystore, CA over HTTPS, NATS,
// SQLite or PostgreSQL) and serves each role's HTTP surface (GET /controls,
// /stats). Every role runs until its context is cancelled and then shuts down
// in order.
//
// Topology: the head-end daemon embeds the CA and the bus unless ca.url and
// bus.url point elsewhere; a gateway daemon always reaches them over the
// network, so the head-end and the gateways can run on different machines.
package daemon

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/usapp/usapp/computing/keystore"
	"github.com/usapp/usapp/config"
)

// Hinted is an error with a hint the user can act on.
type Hinted struct {
	Err  error
	hint string
}

func (h *Hinted) Error() string { return h.Err.Error() }
func (h *Hinted) Unwrap() error { return h.Err }

// Hint says how to fix the problem.
func (h *Hinted) Hint() string { return h.hint }

// renewCheck is how often a running daemon checks whether its certificates
// have entered the last fifth of their validity (pki.NeedsRotation), unless
// they are short-lived (renewPeriod).
const renewCheck = time.Hour

// Run runs the role the configuration names.
func Run(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	switch cfg.Role {
	case "ca":
		return RunCA(ctx, cfg, log)
	case "headend":
		return RunHeadEnd(ctx, cfg, log)
	case "gateway":
		return RunGateway(ctx, cfg, log)
	case "bus":
		return &Hinted{errors.New("the bus runs inside the head-end daemon"),
			"leave bus.url empty in the head-end's configuration to embed it, or point bus.url at a NATS cluster"}
	}
	return &Hinted{fmt.Errorf("no role %q", cfg.Role), "set role: ca, headend or gateway"}
}

// openKeystore opens the role's keystore with the configured passphrase.
func openKeystore(cfg *config.Config) (*keystore.FileStore, error) {
	var pass []byte
	switch {
	case cfg.Keystore.PassphraseFile != "":
		b, err := os.ReadFile(cfg.Keystore.PassphraseFile)
		if err != nil {
			return nil, fmt.Errorf("keystore passphrase: %w", err)
		}
		pass = []byte(strings.TrimRight(string(b), "\r\n"))
	default:
		pass = []byte(os.Getenv(cfg.Keystore.PassphraseEnv))
	}
	if len(pass) == 0 {
		return nil, &Hinted{errors.New("no keystore passphrase"),
			fmt.Sprintf("set %s or keystore.passphrase_file: private keys are never stored in clear", cfg.Keystore.PassphraseEnv)}
	}
	ks, err := keystore.Open(cfg.Keystore.Dir, pass)
	if errors.Is(err, keystore.ErrWrongPassphrase) {
		return nil, &Hinted{err, "the keystore in " + cfg.Keystore.Dir + " was created with another passphrase"}
	}
	return ks, err
}

// serveHTTP serves h on addr until ctx ends.
func serveHTTP(ctx context.Context, addr string, h http.Handler, log *slog.Logger) (net.Addr, func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http", "addr", addr, "err", err)
		}
	}()
	stop := func() {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(c)
	}
	return ln.Addr(), stop, nil
}

func tlsCert(cert *x509.Certificate, key ed25519.PrivateKey) tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}
}

func rootPool(root *x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(root)
	return p
}

func clientTLS(root *x509.Certificate, certs ...tls.Certificate) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: rootPool(root), Certificates: certs}
}

package daemon

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/computing/keystore"
	"github.com/usapp/usapp/config"
	"github.com/usapp/usapp/roles/ca"
	"github.com/usapp/usapp/sim/clock"
)

// RunCA runs the certificate authority until ctx ends.
func RunCA(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	ks, err := openKeystore(cfg)
	if err != nil {
		return err
	}
	auth, err := startCA(cfg, ks, log)
	if err != nil {
		return err
	}
	log.Info("ca ready", "url", auth.URL(), "root", filepath.Join(cfg.DataDir, "ca", ca.RootFile))
	<-ctx.Done()
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return auth.Shutdown(c)
}

// startCA opens (or creates) the CA in data_dir/ca, serves it over HTTPS,
// copies its root to ca.root_file and mints the configured gateway tokens.
func startCA(cfg *config.Config, ks keystore.Keystore, log *slog.Logger) (*ca.Authority, error) {
	auth, err := ca.Open(ca.Config{Name: "USaPP CA", DataDir: filepath.Join(cfg.DataDir, "ca"), Listen: cfg.CA.Listen,
		Hosts: hostsOf(cfg.CA.Listen), Clock: clock.Real{}, Log: log.With("role", "ca"), StateDSN: cfg.CA.DSN,
		CRLEvery: time.Duration(cfg.CA.CRLRefresh)}, ks)
	if err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}
	auth.CA().DeviceValidity = time.Duration(cfg.CA.DeviceValidity)
	auth.CA().ServiceValidity = time.Duration(cfg.CA.ServiceValidity)
	key, err := ed25519Key(ks, "ca-tls")
	if err != nil {
		return nil, err
	}
	if err := auth.Start(key); err != nil {
		return nil, err
	}
	if cfg.CA.RootFile != "" {
		if err := ca.WriteCertificate(cfg.CA.RootFile, auth.CA().Certificate()); err != nil {
			return nil, err
		}
	}
	if cfg.CA.GatewayTokens > 0 {
		if err := mintGatewayTokens(auth.CA(), cfg.CA.GatewayTokens, cfg.CA.TokenFile); err != nil {
			return nil, err
		}
	}
	if cfg.CA.ServiceTokenFile != "" {
		if err := mintServiceTokens(auth.CA(), cfg.HeadEnd.Name, cfg.CA.ServiceTokenFile); err != nil {
			return nil, err
		}
	}
	return auth, nil
}

// tokenLife is how long the enrolment tokens a CA daemon mints at start stay
// valid: long enough to install the devices and services they are for.
const tokenLife = 7 * 24 * time.Hour

// mintGatewayTokens writes n one-time gateway tokens, one a line, for an
// installer to hand to gateways.
func mintGatewayTokens(c *pki.CA, n int, path string) error {
	if path == "" {
		return &Hinted{errors.New("ca.gateway_tokens is set but ca.token_file is empty"), "name the file the tokens go to"}
	}
	var b strings.Builder
	for i := range n {
		tok, err := c.NewToken(pki.RoleGateway, fmt.Sprintf("gateway-%d", i+1), "", tokenLife, time.Now())
		if err != nil {
			return err
		}
		b.WriteString(tok + "\n")
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

// ed25519Key returns the named key from the keystore, creating it on first use.
func ed25519Key(ks keystore.Keystore, name string) (ed25519.PrivateKey, error) {
	k, err := ks.Get(name)
	if errors.Is(err, keystore.ErrNotFound) {
		return keystore.GenerateEd25519(ks, name)
	}
	if err != nil {
		return nil, err
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("keystore entry %q is not an Ed25519 key", name)
	}
	return ek, nil
}

var _ crypto.Signer = ed25519.PrivateKey(nil)

// hostsOf lists the names a server certificate for addr must carry.
func hostsOf(addr string) []string {
	hosts := []string{"localhost", "127.0.0.1"}
	if h, _, err := net.SplitHostPort(addr); err == nil && h != "" && h != "localhost" && h != "127.0.0.1" && h != "0.0.0.0" {
		hosts = append(hosts, h)
	}
	return hosts
}

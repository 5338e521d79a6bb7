package bustest

import (
	"crypto/rand"
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
)

// External is a NATS server run the way an operator might run one for USaPP
// (bus.url), not by package bus: TLS with client certificates checked
// against the test CA and nothing more (no CRL), devices in an account of
// their own as its no-auth user, and a system account whose one user
// authenticates with an nkey.
type External struct {
	Server   *server.Server
	URL      string
	SeedFile string // the system user's nkey seed
}

// StartExternal starts an External with ca's certificates; t.Cleanup stops it.
func (ca *TestCA) StartExternal(t testing.TB) *External {
	t.Helper()
	return StartExternal(t, ca.ServerConfig(t).TLS)
}

// StartExternal starts an External with a server TLS configuration that
// requires and verifies client certificates; t.Cleanup stops it.
func StartExternal(t testing.TB, tlsCfg *tls.Config) *External {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := kp.Seed()
	pub, _ := kp.PublicKey()
	seedFile := filepath.Join(t.TempDir(), "sys.nk")
	if err := os.WriteFile(seedFile, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	sys, devices := server.NewAccount("SYS"), server.NewAccount("USAPP")
	opts := &server.Options{
		ServerName:    "external",
		Host:          "127.0.0.1",
		Port:          -1,
		NoSigs:        true,
		NoLog:         true,
		TLS:           true,
		TLSVerify:     true,
		TLSConfig:     tlsCfg,
		TLSTimeout:    5,
		Accounts:      []*server.Account{sys, devices},
		SystemAccount: "SYS",
		Nkeys:         []*server.NkeyUser{{Nkey: pub, Account: sys}},
		Users:         []*server.User{{Username: "device", Password: rand.Text(), Account: devices}},
		NoAuthUser:    "device",
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatalf("bustest: external server: %v", err)
	}
	ns.Start()
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("bustest: external server not ready")
	}
	return &External{Server: ns, URL: ns.ClientURL(), SeedFile: seedFile}
}

package bustest

import (
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
)

// External is a NATS server run the way an operator might run one for USaPP
// (bus.url), from a configuration file's text, not by package bus: TLS with
// client certificates checked against the test CA and nothing more (no
// CRL), devices in an account of their own (USAPP), and a system account
// whose one user authenticates with an nkey.
type External struct {
	Server   *server.Server
	URL      string
	SeedFile string // the system user's nkey seed
	// With ExternalConfig.Callout: the auth callout user's nkey seed, and the
	// seed of the account key auth_callout names as issuer.
	CalloutSeedFile, IssuerSeedFile string
}

// ExternalConfig says what an External runs besides TLS and the system
// account.
type ExternalConfig struct {
	// JetStream in the devices' account, syncing every write, as USaPP needs.
	JetStream bool
	// Callout delegates every device's admission to an auth callout service
	// (bus.Callout) that connects as the nkey user of account AUTH. Without
	// it, devices are the devices' account's no-auth user.
	Callout bool
}

// StartExternal starts an External with ca's certificates; t.Cleanup stops it.
func (ca *TestCA) StartExternal(t testing.TB, cfg ExternalConfig) *External {
	t.Helper()
	return StartExternal(t, ca.ServerConfig(t).TLS, cfg)
}

// StartExternal starts an External with a server TLS configuration that
// requires and verifies client certificates; t.Cleanup stops it.
func StartExternal(t testing.TB, tlsCfg *tls.Config, cfg ExternalConfig) *External {
	t.Helper()
	dir := t.TempDir()
	ext := &External{}
	var sysUser string
	ext.SeedFile, sysUser = NewNkey(t, nkeys.CreateUser, dir)
	var conf strings.Builder
	fmt.Fprintf(&conf, "server_name: external\nlisten: \"127.0.0.1:-1\"\nsystem_account: SYS\n")
	if cfg.JetStream {
		fmt.Fprintf(&conf, "jetstream { store_dir: %q, sync_interval: always }\n", filepath.Join(dir, "js"))
	}
	devices := fmt.Sprintf("users: [ { user: device, password: %q } ]", rand.Text())
	if cfg.Callout {
		devices = ""
	}
	if cfg.JetStream {
		devices += " jetstream: enabled"
	}
	fmt.Fprintf(&conf, "accounts {\n  SYS { users: [ { nkey: %s } ] }\n  USAPP { %s }\n", sysUser, devices)
	if cfg.Callout {
		var callout, issuer string
		ext.CalloutSeedFile, callout = NewNkey(t, nkeys.CreateUser, dir)
		ext.IssuerSeedFile, issuer = NewNkey(t, nkeys.CreateAccount, dir)
		fmt.Fprintf(&conf, "  AUTH { users: [ { nkey: %s } ] }\n}\n", callout)
		fmt.Fprintf(&conf, "authorization {\n  auth_callout {\n    issuer: %s\n    account: AUTH\n    auth_users: [ %s, %s ]\n  }\n}\n",
			issuer, callout, sysUser)
	} else {
		fmt.Fprintf(&conf, "}\nno_auth_user: device\n")
	}
	ns := StartConfigured(t, conf.String(), tlsCfg)
	ext.Server, ext.URL = ns, ns.ClientURL()
	return ext
}

// StartConfigured starts a server from the text of a configuration file;
// tlsCfg, if not nil, replaces the file's tls block with one that requires
// and verifies client certificates. t.Cleanup stops the server.
func StartConfigured(t testing.TB, conf string, tlsCfg *tls.Config) *server.Server {
	t.Helper()
	opts := &server.Options{}
	if err := opts.ProcessConfigString(conf); err != nil {
		t.Fatalf("bustest: server configuration: %v\n%s", err, conf)
	}
	if tlsCfg != nil {
		opts.TLS, opts.TLSVerify, opts.TLSConfig, opts.TLSTimeout = true, true, tlsCfg, 5
	}
	return start(t, opts)
}

// StartFromFile starts a server from a configuration file, as nats-server
// -c does, so that the test can reload it (server.Reload) as a signal would,
// reading the file and the files it names again. t.Cleanup stops the server.
func StartFromFile(t testing.TB, path string) *server.Server {
	t.Helper()
	opts, err := server.ProcessConfigFile(path)
	if err != nil {
		t.Fatalf("bustest: server configuration: %v", err)
	}
	return start(t, opts)
}

func start(t testing.TB, opts *server.Options) *server.Server {
	t.Helper()
	opts.NoSigs, opts.NoLog = true, true
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatalf("bustest: server: %v", err)
	}
	ns.Start()
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("bustest: server not ready")
	}
	return ns
}

// NewNkey creates a key pair with create (nkeys.CreateUser,
// nkeys.CreateAccount), writes its seed to a new file in dir and returns the
// file and the public key.
func NewNkey(t testing.TB, create func() (nkeys.KeyPair, error), dir string) (seedFile, pub string) {
	t.Helper()
	kp, err := create()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := kp.Seed()
	pub, _ = kp.PublicKey()
	seedFile = filepath.Join(dir, rand.Text()+".nk")
	if err := os.WriteFile(seedFile, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	return seedFile, pub
}

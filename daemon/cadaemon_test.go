package daemon

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/usapp/usapp/config"
	"github.com/usapp/usapp/internal/testnet"
)

// caDaemon is a CA run as its own daemon (usapp serve ca) in a test, with
// the files it writes for the other roles and the keystore passphrase file
// they all share.
type caDaemon struct {
	cfg                             *config.Config
	addr                            string
	pass, root, gwTokens, svcTokens string
}

// newCADaemon configures a CA daemon in dir that mints one gateway token;
// extra adds settings to its ca block ("crl_refresh: 200ms").
func newCADaemon(t *testing.T, dir, extra string) caDaemon {
	t.Helper()
	c := caDaemon{addr: testnet.FreeAddr(t), pass: filepath.Join(dir, "passphrase"), root: filepath.Join(dir, "root.pem"),
		gwTokens: filepath.Join(dir, "gw-tokens"), svcTokens: filepath.Join(dir, "svc-tokens")}
	if err := os.WriteFile(c.pass, []byte("daemon-test-passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if extra != "" {
		extra = ", " + extra
	}
	c.cfg = parseConfig(t, fmt.Sprintf(`role: ca
data_dir: %q
keystore: {passphrase_file: %q}
ca: {listen: %q, root_file: %q, token_file: %q, gateway_tokens: 1, service_token_file: %q%s}
`, filepath.Join(dir, "ca"), c.pass, c.addr, c.root, c.gwTokens, c.svcTokens, extra))
	return c
}

// url is where the CA answers EST.
func (c caDaemon) url() string { return "https://" + c.addr }

// run starts the daemon and waits until it has written its service tokens.
func (c caDaemon) run(t *testing.T, log *slog.Logger) (stop func()) {
	t.Helper()
	stop = runDaemon(t, RunCA, c.cfg, log)
	testnet.Eventually(t, 20*time.Second, 50*time.Millisecond, func() error { _, err := os.Stat(c.svcTokens); return err })
	return stop
}

package daemon

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/comms/pki/est"
	"github.com/usapp/usapp/internal/testnet"
	"github.com/usapp/usapp/roles/ca"
	"github.com/usapp/usapp/roles/headend"
)

// A head-end whose CA runs as its own daemon (`usapp serve ca`) enrols
// itself and its bus with the service tokens that CA wrote, a gateway enrols
// with the same CA, and its readings are billed; the head-end's data holds
// no CA. Restarted without the token file, the head-end serves again with
// the certificates it saved, and the gateway's readings keep being billed.
// Restarted while the CA is down, it starts on the CRL it saved and defers
// the readings whose senders it cannot look up, rejecting none; once the CA
// is back, they are billed again.
func TestHeadEndWithAnExternalCA(t *testing.T) {
	dir := t.TempDir()
	authority := newCADaemon(t, dir, "")
	busAddr, heHTTP, gwHTTP := testnet.FreeAddr(t), testnet.FreeAddr(t), testnet.FreeAddr(t)
	heDir := filepath.Join(dir, "he")
	heCfg := parseConfig(t, fmt.Sprintf(`role: headend
data_dir: %q
keystore: {passphrase_file: %q}
ca: {url: "https://%s", root_file: %q, token_file: %q}
bus: {listen: %q}
headend: {http: %q}
`, heDir, authority.pass, authority.addr, authority.root, authority.svcTokens, busAddr, heHTTP))
	gwCfg := parseConfig(t, fmt.Sprintf(`role: gateway
data_dir: %q
keystore: {passphrase_file: %q}
ca: {url: "https://%s", root_file: %q, token_file: %q}
bus: {url: "tls://%s"}
gateway: {name: home-1, meters: 1, interval: 250ms, headend_url: "http://%s", http: %q}
`, filepath.Join(dir, "gw"), authority.pass, authority.addr, authority.root, authority.gwTokens, busAddr, heHTTP, gwHTTP))

	log := slog.New(slog.NewJSONHandler(&syncBuffer{}, nil))
	stopCA := authority.run(t, log)
	stopHeadEnd := runDaemon(t, RunHeadEnd, heCfg, log)
	accepted := func(atLeast uint64) func() error {
		return func() error {
			var st headend.Stats
			if err := getJSON("http://"+heHTTP+"/stats", &st); err != nil {
				return err
			}
			if st.Accepted < atLeast || st.Rejected != 0 {
				return fmt.Errorf("head-end stats %+v, want %d accepted and none rejected", st, atLeast)
			}
			return nil
		}
	}
	testnet.Eventually(t, 20*time.Second, 50*time.Millisecond, func() error { return getJSON("http://"+heHTTP+"/stats", &headend.Stats{}) })
	stopGateway := runDaemon(t, RunGateway, gwCfg, log)
	testnet.Eventually(t, 20*time.Second, 100*time.Millisecond, accepted(4))

	if _, err := os.Stat(filepath.Join(heDir, "ca")); !os.IsNotExist(err) {
		t.Fatalf("the head-end's data has a CA directory (%v)", err)
	}
	rootCert, err := ca.ReadCertificate(authority.root)
	if err != nil {
		t.Fatal(err)
	}
	for file, role := range map[string]pki.Role{"headend.pem": pki.RoleHeadEnd, "bus.pem": pki.RoleBus} {
		cert, err := ca.ReadCertificate(filepath.Join(heDir, file))
		if err != nil {
			t.Fatal(err)
		}
		if id, err := pki.NewVerifier(rootCert).Verify(cert, time.Now()); err != nil || id.Role != role {
			t.Fatalf("%s: %+v, %v; want a %s certificate of the external CA", file, id, err, role)
		}
	}

	stopHeadEnd()
	if err := os.Remove(authority.svcTokens); err != nil {
		t.Fatal(err)
	}
	stopHeadEnd = runDaemon(t, RunHeadEnd, heCfg, log)
	testnet.Eventually(t, 30*time.Second, 100*time.Millisecond, accepted(4))

	stopHeadEnd()
	stopCA()
	runDaemon(t, RunHeadEnd, heCfg, log)
	testnet.Eventually(t, 30*time.Second, 100*time.Millisecond, func() error {
		var st headend.Stats
		if err := getJSON("http://"+heHTTP+"/stats", &st); err != nil {
			return err
		}
		if st.Deferred == 0 || st.Rejected != 0 || st.Accepted != 0 {
			return fmt.Errorf("head-end stats %+v, want readings deferred, none rejected or accepted", st)
		}
		return nil
	})
	authority.run(t, log)
	testnet.Eventually(t, 30*time.Second, 100*time.Millisecond, accepted(4))
	stopGateway()
}

// A service token file gives each role its own line; a missing file, role
// or setting is an error that says what to copy where.
func TestServiceTokenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(path, []byte("headend  tok-h \nbus tok-b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for role, want := range map[pki.Role]string{pki.RoleHeadEnd: "tok-h", pki.RoleBus: "tok-b"} {
		if got, err := serviceToken(path, role); err != nil || got != want {
			t.Errorf("%s token %q, %v; want %q", role, got, err, want)
		}
	}
	for name, tc := range map[string]struct {
		path string
		role pki.Role
	}{"no such role": {path, pki.RoleGateway}, "no file": {path + ".missing", pki.RoleBus}, "no setting": {"", pki.RoleBus}} {
		var h *Hinted
		if _, err := serviceToken(tc.path, tc.role); !errors.As(err, &h) || h.Hint() == "" {
			t.Errorf("%s: %v, want an error with a hint", name, err)
		}
	}
}

// A saved bus certificate that does not name where the bus now listens is
// refused with a hint, before any client meets it.
func TestServiceCertMustNameItsHosts(t *testing.T) {
	c := newCA(t, time.Now().Add(-time.Hour))
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := c.IssueServer(pki.RoleBus, "bus", []string{"127.0.0.1"}, key.Public(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "bus.pem")
	if err := ca.WriteCertificate(path, cert); err != nil {
		t.Fatal(err)
	}
	s := service{role: pki.RoleBus, name: "bus", key: key, path: path, hosts: []string{"127.0.0.1"}}
	unreachable := &est.Client{BaseURL: "https://127.0.0.1:1"} // a saved, usable certificate needs no CA
	if got, err := serviceCert(t.Context(), unreachable, c.Certificate(), s); err != nil || !got.Equal(cert) {
		t.Fatalf("saved certificate: %v", err)
	}
	s.hosts = append(s.hosts, "bus.example")
	var h *Hinted
	if _, err := serviceCert(t.Context(), unreachable, c.Certificate(), s); !errors.As(err, &h) {
		t.Fatalf("certificate without bus.example: %v, want an error with a hint", err)
	}
}

package daemon

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/usapp/usapp/comms/pki/dbstate"
	"github.com/usapp/usapp/framework"
	"github.com/usapp/usapp/internal/testnet"
	"github.com/usapp/usapp/platform/bus"
	"github.com/usapp/usapp/platform/bus/bustest"
	"github.com/usapp/usapp/roles/ca"
	"github.com/usapp/usapp/roles/headend"
)

// The three daemons on a NATS server run by an operator (bus.url), with the
// head-end answering its auth callout (bus.callout) and holding a user in its
// system account (bus.system_nkey): the gateway's readings are billed
// through it, the gateway sits in the devices' account under its LFDI, and
// once `usapp ca revoke` revokes it, the head-end closes its connection and
// the callout refuses it again, so the gateway stops with
// bus.ErrCertificateRefused. The head-end reports both in GET /stats, and
// the control in GET /controls.
func TestDaemonsOnAnExternalBus(t *testing.T) {
	dir := t.TempDir()
	authority := newCADaemon(t, dir, "crl_refresh: 200ms")
	heHTTP, gwHTTP := testnet.FreeAddr(t), testnet.FreeAddr(t)
	log := slog.New(slog.NewJSONHandler(&syncBuffer{}, nil))
	authority.run(t, log)

	ext := startOperatorsBus(t, authority.root, authority.url(), authority.svcTokens)
	busURL := strings.Replace(ext.URL, "nats://", "tls://", 1)
	heCfg := parseConfig(t, fmt.Sprintf(`role: headend
data_dir: %q
keystore: {passphrase_file: %q}
ca: {url: "https://%s", root_file: %q, token_file: %q, crl_refresh: 200ms}
bus:
  url: %q
  reverify_every: 100ms
  system_nkey: %q
  callout: {nkey: %q, issuer: %q}
headend: {http: %q}
`, filepath.Join(dir, "he"), authority.pass, authority.addr, authority.root, authority.svcTokens, busURL, ext.SeedFile, ext.CalloutSeedFile, ext.IssuerSeedFile, heHTTP))
	gwCfg := parseConfig(t, fmt.Sprintf(`role: gateway
data_dir: %q
keystore: {passphrase_file: %q}
ca: {url: "https://%s", root_file: %q, token_file: %q}
bus: {url: %q}
gateway: {name: home-1, meters: 1, interval: 250ms, headend_url: "http://%s", http: %q}
`, filepath.Join(dir, "gw"), authority.pass, authority.addr, authority.root, authority.gwTokens, busURL, heHTTP, gwHTTP))

	runDaemon(t, RunHeadEnd, heCfg, log)
	testnet.Eventually(t, 20*time.Second, 50*time.Millisecond, func() error { return getJSON("http://"+heHTTP+"/stats", &headend.Stats{}) })
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- RunGateway(ctx, gwCfg, log) }()
	testnet.Eventually(t, 30*time.Second, 100*time.Millisecond, func() error {
		var st headend.Stats
		if err := getJSON("http://"+heHTTP+"/stats", &st); err != nil {
			return err
		}
		if st.Accepted < 2 || st.Rejected != 0 {
			return fmt.Errorf("head-end stats %+v, want readings accepted and none rejected", st)
		}
		return nil
	})

	gws, err := ListCertificates(ctx, authority.cfg, dbstate.Query{Subject: "OU=gateway"}, nil)
	if err != nil || len(gws) != 1 {
		t.Fatalf("the gateway's certificates: %v, %v", gws, err)
	}
	if accounts := accountsOf(t, ext.Server, gws[0].Identity); len(accounts) != 1 || accounts[0] != "USAPP" {
		t.Fatalf("the gateway's connections are in accounts %v, want one in USAPP under its LFDI", accounts)
	}
	if _, err := Revoke(ctx, authority.cfg, Revocation{LFDI: gws[0].Identity}, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, bus.ErrCertificateRefused) {
			t.Fatalf("revoked gateway stopped with %v, want bus.ErrCertificateRefused", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the revoked gateway still runs 20 s after its revocation")
	}
	if accounts := accountsOf(t, ext.Server, gws[0].Identity); len(accounts) != 0 {
		t.Fatalf("the revoked gateway still holds connections in %v", accounts)
	}
	var st headEndStats
	if err := getJSON("http://"+heHTTP+"/stats", &st); err != nil {
		t.Fatal(err)
	}
	if st.BusRefusals[bus.RefusedReverify] < 1 || st.BusRefusals[bus.RefusedVerify] < 1 {
		t.Fatalf("head-end's bus refusals %v, want the closure and the refused reconnection", st.BusRefusals)
	}
	var controls struct{ Controls []framework.Active }
	if err := getJSON("http://"+heHTTP+"/controls", &controls); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(controls.Controls, func(a framework.Active) bool { return a.ID == framework.BusAccessControl })
	if i < 0 || controls.Controls[i].Params["account"] != "USAPP" || controls.Controls[i].Params["reverify_every"] != "100ms" {
		t.Fatalf("GET /controls %+v, want %s with the callout's account and reverify_every 100ms", controls.Controls, framework.BusAccessControl)
	}
}

// startOperatorsBus starts an external NATS server with JetStream and auth
// callout, with the certificate and key files EnrolBus writes (usapp ca
// enrol-bus), as an operator would.
func startOperatorsBus(t *testing.T, rootFile, caURL, tokens string) *bustest.External {
	t.Helper()
	dir := t.TempDir()
	e := BusEnrolment{CAURL: caURL, RootFile: rootFile, TokenFile: tokens, Hosts: []string{"127.0.0.1"},
		CertFile: filepath.Join(dir, "server.pem"), KeyFile: filepath.Join(dir, "server.key")}
	if _, err := EnrolBus(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(e.KeyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v, want mode 0600", fi, err)
	}
	pair, err := tls.LoadX509KeyPair(e.CertFile, e.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	root, err := ca.ReadCertificate(rootFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(root)
	return bustest.StartExternal(t, &tls.Config{MinVersion: tls.VersionTLS13, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert,
		Certificates: []tls.Certificate{pair}}, bustest.ExternalConfig{JetStream: true, Callout: true})
}

// accountsOf lists the accounts of the server's connections authorised as
// lfdi.
func accountsOf(t *testing.T, ns *server.Server, lfdi string) []string {
	t.Helper()
	cz, err := ns.Connz(&server.ConnzOptions{Username: true, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var accounts []string
	for _, ci := range cz.Conns {
		if ci.AuthorizedUser == lfdi {
			accounts = append(accounts, ci.Account)
		}
	}
	return accounts
}

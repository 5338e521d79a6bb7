package bus_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
	"github.com/usapp/usapp/internal/testnet"
	"github.com/usapp/usapp/platform/bus"
	"github.com/usapp/usapp/platform/bus/bustest"
)

// calloutBus is an external server with JetStream that delegates every
// device's admission to a Callout checking against the test CA.
type calloutBus struct {
	ca      *bustest.TestCA
	ext     *bustest.External
	callout *bus.Callout
}

func startCalloutBus(t testing.TB) *calloutBus {
	t.Helper()
	ca := bustest.NewCA(t)
	ext := ca.StartExternal(t, bustest.ExternalConfig{JetStream: true, Callout: true})
	ca.SetURL(ext.URL)
	return &calloutBus{ca: ca, ext: ext, callout: startCallout(t, ca, ext, ext.IssuerSeedFile)}
}

func startCallout(t testing.TB, ca *bustest.TestCA, ext *bustest.External, issuer string) *bus.Callout {
	t.Helper()
	nc := dialService(t, ca, ext.URL, ext.CalloutSeedFile, "callout")
	c, err := bus.StartCallout(bus.CalloutConfig{Conn: nc, IssuerSeedFile: issuer, Account: "USAPP",
		Verifier: ca, Log: bustest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// connzOf is the server's view of the connection with this certificate.
func connzOf(t *testing.T, ns *server.Server, cfg bus.ClientConfig) *server.ConnInfo {
	t.Helper()
	cz, err := ns.Connz(&server.ConnzOptions{Username: true, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, ci := range cz.Conns {
		if len(ci.TLSPeerCerts) > 0 && ci.TLSPeerCerts[0].CertSha256 == certDigest(cfg) {
			return ci
		}
	}
	t.Fatalf("no connection with %s's certificate", cfg.Name)
	return nil
}

// Behind the callout an external server enforces the embedded bus's
// permissions: readings flow from a meter to the head-end through JetStream,
// and a meter that publishes as another, reads another's receipts or calls
// the JetStream API is stopped by the server.
func TestCalloutGivesEachIdentityItsRolesSubjects(t *testing.T) {
	b := startCalloutBus(t)
	headCfg, _ := b.ca.Client(t, bus.RoleHeadEnd)
	head := connect(t, headCfg)
	if err := bus.EnsureStreams(ctxFor(t, 10*time.Second), head.JS); err != nil {
		t.Fatalf("head-end EnsureStreams behind the callout: %v", err)
	}
	meterCfg, meter := b.ca.Client(t, bus.RoleMeter)
	m := connect(t, meterCfg)
	_, victim := client(t, b.ca, bus.RoleMeter)

	if err := bus.PublishReading(ctxFor(t, 5*time.Second), m, meter.LFDI, "1", []byte("sealed")); err != nil {
		t.Fatalf("own reading: %v", err)
	}
	if err := bus.PublishReading(ctxFor(t, 5*time.Second), m, victim.LFDI, "2", []byte("forged")); !errors.Is(err, bus.ErrPermission) {
		t.Fatalf("reading as another meter: %v, want ErrPermission", err)
	}
	if _, err := m.NC.SubscribeSync(bus.ReceiptSubject(victim.LFDI)); err != nil {
		t.Fatal(err)
	}
	if err := m.NC.Flush(); err != nil {
		t.Fatal(err)
	}
	testnet.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
		if !errors.Is(m.NC.LastError(), nats.ErrPermissionViolation) {
			return fmt.Errorf("subscribing to another's receipts: last error %v, want a permission violation", m.NC.LastError())
		}
		return nil
	})
	if _, err := m.JS.Stream(ctxFor(t, 500*time.Millisecond), bus.ReadingsStream); err == nil {
		t.Fatal("a meter read the stream's information")
	}

	st, err := head.JS.Stream(ctxFor(t, 5*time.Second), bus.ReadingsStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctxFor(t, 5*time.Second))
	if err != nil || info.State.Msgs != 1 {
		t.Fatalf("stream holds %d readings (%v), want the meter's own only", info.State.Msgs, err)
	}

	ci := connzOf(t, b.ext.Server, meterCfg)
	if ci.Account != "USAPP" || ci.AuthorizedUser != meter.LFDI {
		t.Fatalf("the meter is %q in account %q, want %q in USAPP", ci.AuthorizedUser, ci.Account, meter.LFDI)
	}
	if got := b.callout.Admitted(); got != 3 {
		t.Fatalf("Admitted = %d, want 3", got)
	}
	if r := b.callout.Refusals(); len(r) != 0 {
		t.Fatalf("refusals: %v", r)
	}

	// The system account's user is the server's own: the Evictor still
	// reaches every server, so the callout did not place it among devices.
	sys := dialService(t, b.ca, b.ext.URL, b.ext.SeedFile, "evictor")
	ev, err := bus.NewEvictor(bus.EvictorConfig{Conn: sys, Revoked: func(string) bool { return false }, Log: bustest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ev.Sweep(ctxFor(t, 10*time.Second)); err != nil {
		t.Fatalf("sweep beside the callout: %v", err)
	}
}

// The callout refuses at connection what the embedded server refuses: a
// revoked certificate and an unknown role; each is counted by reason.
func TestCalloutRefusesWhatTheEmbeddedBusRefuses(t *testing.T) {
	b := startCalloutBus(t)
	revoked, _ := b.ca.Client(t, bus.RoleMeter)
	b.ca.Revoke(t, revoked)
	if _, err := bus.Connect(ctxFor(t, 5*time.Second), revoked); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("revoked: %v, want an authorization violation", err)
	}
	toaster, _ := b.ca.Client(t, "toaster")
	if _, err := bus.Connect(ctxFor(t, 5*time.Second), toaster); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("unknown role: %v, want an authorization violation", err)
	}
	r := b.callout.Refusals()
	if r[bus.RefusedVerify] < 1 || r[bus.RefusedUnknownRole] < 1 || b.callout.Admitted() != 0 {
		t.Fatalf("refusals %v, admitted %d; want verify and unknown-role refused, none admitted", r, b.callout.Admitted())
	}
}

// A callout that signs with a key the server does not name as issuer admits
// no one, and says why.
func TestCalloutWithAnotherIssuerAdmitsNoOne(t *testing.T) {
	ca := bustest.NewCA(t)
	ext := ca.StartExternal(t, bustest.ExternalConfig{Callout: true})
	ca.SetURL(ext.URL)
	kp, _ := nkeys.CreateAccount()
	seed, _ := kp.Seed()
	other := filepath.Join(t.TempDir(), "other.nk")
	if err := os.WriteFile(other, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	c := startCallout(t, ca, ext, other)
	cfg, _ := ca.Client(t, bus.RoleMeter)
	if _, err := bus.Connect(ctxFor(t, 10*time.Second), cfg); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("connect: %v, want an authorization violation", err)
	}
	if c.Refusals()[bus.RefusedBadRequest] < 1 || c.Admitted() != 0 {
		t.Fatalf("refusals %v, admitted %d; want the request refused as bad", c.Refusals(), c.Admitted())
	}
}

// The user JWT expires with the certificate, and the server closes the
// connection then, as the embedded server does.
func TestCalloutConnectionClosedAtCertificateExpiry(t *testing.T) {
	b := startCalloutBus(t)
	closedAtExpiry(t, b.ca, 2*time.Second)
}

// With the callout stopped, the server refuses devices (after its
// authorization timeout) instead of admitting them.
func TestStoppedCalloutAdmitsNoOne(t *testing.T) {
	b := startCalloutBus(t)
	if err := b.callout.Stop(); err != nil {
		t.Fatal(err)
	}
	cfg, _ := b.ca.Client(t, bus.RoleMeter)
	if _, err := bus.Connect(ctxFor(t, 10*time.Second), cfg); err == nil {
		t.Fatal("a device connected with no callout answering")
	}
}

func TestCalloutConfig(t *testing.T) {
	ca := bustest.NewCA(t)
	ext := ca.StartExternal(t, bustest.ExternalConfig{Callout: true})
	nc := dialService(t, ca, ext.URL, ext.CalloutSeedFile, "callout")
	good := bus.CalloutConfig{Conn: nc, IssuerSeedFile: ext.IssuerSeedFile, Account: "USAPP", Verifier: ca}
	for name, edit := range map[string]func(*bus.CalloutConfig){
		"no connection":   func(c *bus.CalloutConfig) { c.Conn = nil },
		"no verifier":     func(c *bus.CalloutConfig) { c.Verifier = nil },
		"no account":      func(c *bus.CalloutConfig) { c.Account = "" },
		"no seed file":    func(c *bus.CalloutConfig) { c.IssuerSeedFile = filepath.Join(t.TempDir(), "none") },
		"a user's seed":   func(c *bus.CalloutConfig) { c.IssuerSeedFile = ext.CalloutSeedFile },
		"not a seed file": func(c *bus.CalloutConfig) { c.IssuerSeedFile = writeFile(t, "junk") },
	} {
		cfg := good
		edit(&cfg)
		if _, err := bus.StartCallout(cfg); !errors.Is(err, bus.ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
	}
	c, err := bus.StartCallout(good)
	if err != nil {
		t.Fatal(err)
	}
	kp, _ := nkeys.FromSeed(mustRead(t, ext.IssuerSeedFile))
	if pub, _ := kp.PublicKey(); c.Issuer() != pub {
		t.Fatalf("Issuer = %s, want %s", c.Issuer(), pub)
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func mustRead(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The nats-server configuration docs/serve.md gives operators works as
// written, with only its placeholders filled in: a meter's reading reaches
// the head-end's stream behind the callout, and the Evictor sweeps through
// the system user.
func TestDocumentedServerConfiguration(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "serve.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, conf, ok := strings.Cut(string(doc), "```conf\n")
	conf, _, ok2 := strings.Cut(conf, "```")
	if !ok || !ok2 {
		t.Fatal("docs/serve.md has no ```conf block")
	}
	ca := bustest.NewCA(t)
	dir := t.TempDir()
	cert, key, root := ca.WriteServerFiles(t, dir)
	sysSeed, sysUser := bustest.NewNkey(t, nkeys.CreateUser, dir)
	calloutSeed, calloutUser := bustest.NewNkey(t, nkeys.CreateUser, dir)
	issuerSeed, issuer := bustest.NewNkey(t, nkeys.CreateAccount, dir)
	filled := strings.NewReplacer(
		"0.0.0.0:4222", "127.0.0.1:-1",
		"/etc/nats/nats-server.pem", cert, "/etc/nats/nats-server.key", key, "/etc/nats/usapp-root.pem", root,
		"/var/lib/nats", filepath.Join(dir, "js"),
		"SYSTEM_USER", sysUser, "CALLOUT_USER", calloutUser, "CALLOUT_ISSUER", issuer,
	).Replace(conf)
	ns := bustest.StartConfigured(t, filled, nil)
	ext := &bustest.External{Server: ns, URL: ns.ClientURL(), SeedFile: sysSeed, CalloutSeedFile: calloutSeed, IssuerSeedFile: issuerSeed}
	ca.SetURL(ext.URL)
	startCallout(t, ca, ext, issuerSeed)

	head, _ := client(t, ca, bus.RoleHeadEnd)
	if err := bus.EnsureStreams(ctxFor(t, 10*time.Second), head.JS); err != nil {
		t.Fatalf("EnsureStreams: %v", err)
	}
	meterCfg, id := ca.Client(t, bus.RoleMeter)
	meter := connect(t, meterCfg)
	if err := bus.PublishReading(ctxFor(t, 5*time.Second), meter, id.LFDI, "1", []byte("sealed")); err != nil {
		t.Fatalf("reading: %v", err)
	}
	sys := dialService(t, ca, ext.URL, sysSeed, "evictor")
	bad := certDigest(meterCfg)
	ev, err := bus.NewEvictor(bus.EvictorConfig{Conn: sys, Revoked: func(d string) bool { return d == bad }, Log: bustest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := ev.Sweep(ctxFor(t, 10*time.Second)); err != nil || n != 1 {
		t.Fatalf("sweep closed %d (err %v), want the meter's connection", n, err)
	}
}

package bus_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/usapp/usapp/internal/testnet"
	"github.com/usapp/usapp/platform/bus"
	"github.com/usapp/usapp/platform/bus/bustest"
)

func certDigest(cfg bus.ClientConfig) string { return bus.CertDigest(cfg.TLS.Certificates[0].Leaf) }

// cidsByDigest lists the server's open client connections by the digest of
// their certificate, as the server itself sees them.
func cidsByDigest(t *testing.T, ns *server.Server) map[string][]uint64 {
	t.Helper()
	cz, err := ns.Connz(&server.ConnzOptions{Username: true, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	by := map[string][]uint64{}
	for _, ci := range cz.Conns {
		if len(ci.TLSPeerCerts) > 0 {
			by[ci.TLSPeerCerts[0].CertSha256] = append(by[ci.TLSPeerCerts[0].CertSha256], ci.Cid)
		}
	}
	return by
}

// dialService connects to an external server as the nkey user whose seed is
// in seedFile, presenting an operator's certificate; t.Cleanup closes it.
func dialService(t testing.TB, ca *bustest.TestCA, url, seedFile, name string) *nats.Conn {
	t.Helper()
	op, _ := ca.Client(t, bus.RoleBus)
	nc, err := bus.DialService(ctxFor(t, 10*time.Second), bus.ServiceConfig{URL: url, TLS: op.TLS,
		NkeySeedFile: seedFile, Name: name, Log: bustest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// An external server admits a revoked device (it checks the chain only); the
// Evictor closes its connection, through the system account, and closes it
// again after it reconnects, while the other devices stay connected.
func TestEvictorClosesRevokedDevicesOnAnExternalServer(t *testing.T) {
	ca := bustest.NewCA(t)
	ext := ca.StartExternal(t, bustest.ExternalConfig{})
	ca.SetURL(ext.URL)
	goodCfgs := make([]bus.ClientConfig, 3)
	for i := range goodCfgs {
		goodCfgs[i], _ = ca.Client(t, bus.RoleMeter)
		connect(t, goodCfgs[i])
	}
	revokedCfg, _ := ca.Client(t, bus.RoleMeter)
	revoked := connect(t, revokedCfg) // last, so that it is on the last page
	ca.Revoke(t, revokedCfg)          // the external server does not care

	sys := dialService(t, ca, ext.URL, ext.SeedFile, "evictor")
	bad := certDigest(revokedCfg)
	ev, err := bus.NewEvictor(bus.EvictorConfig{Conn: sys, Revoked: func(d string) bool { return d == bad }, Log: bustest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	bus.SetEvictorPage(ev, 2) // five connections with the evictor's own: three pages

	before := cidsByDigest(t, ext.Server)
	if len(before[bad]) != 1 {
		t.Fatalf("the revoked device holds %d connections before the sweep, want 1", len(before[bad]))
	}
	if n, err := ev.Sweep(ctxFor(t, 10*time.Second)); err != nil || n != 1 {
		t.Fatalf("sweep closed %d connections (err %v), want 1", n, err)
	}
	after := cidsByDigest(t, ext.Server)
	for _, cid := range after[bad] {
		if cid == before[bad][0] {
			t.Fatal("the revoked device's connection is still open after the sweep")
		}
	}
	for _, g := range goodCfgs {
		d := certDigest(g)
		if len(after[d]) != 1 || after[d][0] != before[d][0] {
			t.Fatalf("a good device's connection changed: %v before, %v after", before[d], after[d])
		}
	}

	// The device reconnects (the server admits it again), and the next sweep
	// closes it again.
	testnet.Eventually(t, 10*time.Second, 50*time.Millisecond, func() error {
		if len(cidsByDigest(t, ext.Server)[bad]) == 0 {
			return errors.New("the revoked device has not reconnected yet")
		}
		return nil
	})
	if n, err := ev.Sweep(ctxFor(t, 10*time.Second)); err != nil || n != 1 {
		t.Fatalf("second sweep closed %d connections (err %v), want 1", n, err)
	}
	if got := ev.Evicted(); got != 2 {
		t.Fatalf("Evicted = %d, want 2", got)
	}
	if revoked.NC.Stats().Reconnects < 1 {
		t.Fatal("the revoked device's client never saw its connection closed")
	}
}

// A connection outside the system account gets no server's answer, and the
// sweep says so rather than reporting a clean bus.
func TestEvictorNeedsTheSystemAccount(t *testing.T) {
	ca := bustest.NewCA(t)
	ext := ca.StartExternal(t, bustest.ExternalConfig{})
	ca.SetURL(ext.URL)
	dev, _ := client(t, ca, bus.RoleMeter)
	ev, err := bus.NewEvictor(bus.EvictorConfig{Conn: dev.NC, Revoked: func(string) bool { return true },
		Timeout: 200 * time.Millisecond, Log: bustest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ev.Sweep(ctxFor(t, 5*time.Second)); !errors.Is(err, bus.ErrNoSystemAnswer) {
		t.Fatalf("sweep from a device's account: %v, want ErrNoSystemAnswer", err)
	}
}

func TestEvictorConfig(t *testing.T) {
	for name, cfg := range map[string]bus.EvictorConfig{
		"no connection": {Revoked: func(string) bool { return false }},
		"no Revoked":    {},
	} {
		if _, err := bus.NewEvictor(cfg); !errors.Is(err, bus.ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
	}
	if _, err := bus.DialService(context.Background(), bus.ServiceConfig{URL: "nats://127.0.0.1:1"}); !errors.Is(err, bus.ErrConfig) {
		t.Errorf("DialService without TLS or seed: %v, want ErrConfig", err)
	}
}

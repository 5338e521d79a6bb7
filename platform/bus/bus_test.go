package bus_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/usapp/usapp/internal/testnet"
	"github.com/usapp/usapp/platform/bus"
	"github.com/usapp/usapp/platform/bus/bustest"
)

func connect(t testing.TB, cfg bus.ClientConfig) *bus.Conn {
	t.Helper()
	cfg.Log = bustest.Logger(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := bus.Connect(ctx, cfg)
	if err != nil {
		t.Fatalf("connect %s: %v", cfg.Name, err)
	}
	t.Cleanup(c.Close)
	return c
}

func client(t testing.TB, ca *bustest.TestCA, role string) (*bus.Conn, bus.Identity) {
	t.Helper()
	cfg, id := ca.Client(t, role)
	return connect(t, cfg), id
}

func ctxFor(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func refusedAtLeast(t testing.TB, s *bus.Server, reason string, n uint64) {
	t.Helper()
	testnet.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
		if got := s.Refusals()[reason]; got < n {
			return fmt.Errorf("refusals[%q] = %d, want >= %d (all: %v)", reason, got, n, s.Refusals())
		}
		return nil
	})
}

// subjectCount is the number of stored messages on subject, as the admin sees it.
func subjectCount(t testing.TB, admin *bus.Conn, subject string) uint64 {
	t.Helper()
	st, err := admin.JS.Stream(ctxFor(t, 5*time.Second), bus.ReadingsStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctxFor(t, 5*time.Second), jetstream.WithSubjectFilter(subject))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Subjects[subject]
}

func TestOwnReadingStoredAndAcknowledged(t *testing.T) {
	srv, ca := bustest.Run(t)
	meter, id := client(t, ca, bus.RoleMeter)
	admin, _ := client(t, ca, bus.RoleBus)

	if err := bus.PublishReading(ctxFor(t, 5*time.Second), meter, id.LFDI, "r-1", []byte("sealed-1")); err != nil {
		t.Fatalf("publish own reading: %v", err)
	}
	// Same Nats-Msg-Id again: acknowledged, not stored twice.
	if err := bus.PublishReading(ctxFor(t, 5*time.Second), meter, id.LFDI, "r-1", []byte("sealed-1")); err != nil {
		t.Fatalf("republish: %v", err)
	}
	if err := bus.PublishReading(ctxFor(t, 5*time.Second), meter, id.LFDI, "r-2", []byte("sealed-2")); err != nil {
		t.Fatalf("publish second reading: %v", err)
	}
	if n := subjectCount(t, admin, bus.ReadingSubject(id.LFDI)); n != 2 {
		t.Fatalf("stored %d readings, want 2 (duplicate suppressed)", n)
	}
	st, _ := admin.JS.Stream(ctxFor(t, 5*time.Second), bus.ReadingsStream)
	last, err := st.GetLastMsgForSubject(ctxFor(t, 5*time.Second), bus.ReadingSubject(id.LFDI))
	if err != nil || string(last.Data) != "sealed-2" {
		t.Fatalf("last reading = %q, %v", last.Data, err)
	}
	if r := srv.Refusals(); len(r) != 0 {
		t.Fatalf("refusals on the happy path: %v", r)
	}
}

func TestPublishAsAnotherMeterRefused(t *testing.T) {
	srv, ca := bustest.Run(t)
	mallory, _ := client(t, ca, bus.RoleMeter)
	_, victim := client(t, ca, bus.RoleMeter)
	admin, _ := client(t, ca, bus.RoleBus)

	start := time.Now()
	err := bus.PublishReading(ctxFor(t, 5*time.Second), mallory, victim.LFDI, "forged", []byte("forged"))
	if !errors.Is(err, bus.ErrPermission) {
		t.Fatalf("forged publish: err = %v, want ErrPermission", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("refusal took %s; it should not wait for the ack timeout", d)
	}
	// A raw core publish, bypassing the helper, is dropped by the server too.
	if err := mallory.NC.Publish(bus.ReadingSubject(victim.LFDI), []byte("forged-raw")); err != nil {
		t.Fatal(err)
	}
	if err := mallory.NC.Flush(); err != nil {
		t.Fatal(err)
	}
	refusedAtLeast(t, srv, bus.RefusedPublishDenied, 2)
	if n := subjectCount(t, admin, bus.ReadingSubject(victim.LFDI)); n != 0 {
		t.Fatalf("stream holds %d forged readings", n)
	}
	// Nor may a meter publish receipts or commands.
	if err := mallory.NC.Publish(bus.ReceiptSubject(victim.LFDI), []byte("x")); err != nil {
		t.Fatal(err)
	}
	mallory.NC.Flush()
	refusedAtLeast(t, srv, bus.RefusedPublishDenied, 3)
}

func TestMeterCannotUseJetStreamAPI(t *testing.T) {
	srv, ca := bustest.Run(t)
	meter, _ := client(t, ca, bus.RoleMeter)
	if _, err := meter.JS.Stream(ctxFor(t, 500*time.Millisecond), bus.ReadingsStream); err == nil {
		t.Fatal("meter read stream info")
	}
	refusedAtLeast(t, srv, bus.RefusedPublishDenied, 1)
}

func TestForeignCARefused(t *testing.T) {
	srv, ca := bustest.Run(t)
	foreign := bustest.NewCA(t)
	cfg, _ := foreign.Client(t, bus.RoleBus)
	cfg.URL = srv.ClientURL()
	cfg.TLS.RootCAs = ca.Pool() // the client trusts the server; the server must not trust it
	if c, err := bus.Connect(ctxFor(t, 5*time.Second), cfg); err == nil {
		c.Close()
		t.Fatal("client of a foreign CA connected")
	}
	refusedAtLeast(t, srv, bus.RefusedTLSHandshake, 1)
}

func TestRevokedIdentityRefused(t *testing.T) {
	srv, ca := bustest.Run(t)
	cfg, _ := ca.Client(t, bus.RoleMeter)
	connect(t, cfg).Close() // valid before revocation
	ca.Revoke(t, cfg)
	_, err := bus.Connect(ctxFor(t, 5*time.Second), cfg)
	if !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("revoked identity: err = %v, want authorization violation", err)
	}
	if got := srv.Refusals()[bus.RefusedVerify]; got != 1 {
		t.Fatalf("verify refusals = %d, want 1", got)
	}
}

// A revocation closes a connection admitted before it: the other clients
// stay, the revoked one cannot come back, and ticks with no new revocation
// check no one again.
func TestRevocationClosesOpenConnection(t *testing.T) {
	ca := bustest.NewCA(t)
	cfg := ca.ServerConfig(t)
	cfg.ReverifyEvery = 50 * time.Millisecond
	srv := ca.Start(t, cfg)
	lostCfg, _ := ca.Client(t, bus.RoleGateway)
	lost := connect(t, lostCfg)
	stays, id := client(t, ca, bus.RoleGateway)

	checks := ca.Checks()
	time.Sleep(6 * cfg.ReverifyEvery)
	if got := ca.Checks(); got != checks {
		t.Fatalf("%d certificates checked again with no revocation", got-checks)
	}

	ca.Revoke(t, lostCfg)
	testnet.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
		if lost.NC.IsConnected() {
			return errors.New("revoked client still connected")
		}
		return nil
	})
	refusedAtLeast(t, srv, bus.RefusedReverify, 1)
	if !stays.NC.IsConnected() {
		t.Fatal("a client that was not revoked lost its connection")
	}
	if err := bus.PublishReading(ctxFor(t, 5*time.Second), stays, id.LFDI, "1", []byte("sealed")); err != nil {
		t.Fatalf("publish after another's revocation: %v", err)
	}
	if c, err := bus.Connect(ctxFor(t, 5*time.Second), lostCfg); !errors.Is(err, nats.ErrAuthorization) {
		if c != nil {
			c.Close()
		}
		t.Fatalf("revoked identity reconnecting: err = %v, want authorization violation", err)
	}
	// Its own reconnections are refused too, and then the connection gives
	// up and says why, so that its owner can stop rather than run on.
	select {
	case <-lost.Closed():
	case <-time.After(10 * time.Second):
		t.Fatal("the revoked client's connection still retrying after 10 s")
	}
	if err := lost.Err(); !errors.Is(err, bus.ErrCertificateRefused) || !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("why the revoked client's connection closed: %v, want authorization violation", err)
	}
	if err := stays.Err(); err != nil {
		t.Fatalf("open connection reports %v", err)
	}
	stays.Close()
	if err := stays.Err(); err != nil {
		t.Fatalf("after Close: %v, want nil", err)
	}
}

func TestExpiredIdentityRefused(t *testing.T) {
	ca := bustest.NewCA(t)
	cfg := ca.ServerConfig(t)
	// The verifier's clock is two days ahead: day-long certificates are expired
	// for it, while TLS (on the real clock) still accepts them.
	cfg.Now = func() time.Time { return time.Now().Add(48 * time.Hour) }
	srv := ca.Start(t, cfg)
	ccfg, _ := ca.Client(t, bus.RoleGateway)
	if _, err := bus.Connect(ctxFor(t, 5*time.Second), ccfg); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("expired identity: err = %v, want authorization violation", err)
	}
	if got := srv.Refusals()[bus.RefusedVerify]; got != 1 {
		t.Fatalf("verify refusals = %d, want 1", got)
	}
}

func TestUnknownRoleRefused(t *testing.T) {
	srv, ca := bustest.Run(t)
	cfg, _ := ca.Client(t, "toaster")
	if _, err := bus.Connect(ctxFor(t, 5*time.Second), cfg); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("unknown role: err = %v", err)
	}
	if got := srv.Refusals()[bus.RefusedUnknownRole]; got != 1 {
		t.Fatalf("unknown-role refusals = %d, want 1", got)
	}
}

func TestCannotSubscribeToAnothersReceipts(t *testing.T) {
	srv, ca := bustest.Run(t)
	mallory, _ := client(t, ca, bus.RoleMeter)
	victim, vid := client(t, ca, bus.RoleGateway)
	headend, _ := client(t, ca, bus.RoleHeadEnd)

	spy, err := mallory.NC.SubscribeSync(bus.ReceiptSubject(vid.LFDI))
	if err != nil {
		t.Fatal(err)
	}
	inboxSpy, err := mallory.NC.SubscribeSync(bus.InboxPrefix + vid.LFDI + ".>")
	if err != nil {
		t.Fatal(err)
	}
	own, err := victim.NC.SubscribeSync(bus.ReceiptSubject(vid.LFDI))
	if err != nil {
		t.Fatal(err)
	}
	mallory.NC.Flush()
	victim.NC.Flush()
	refusedAtLeast(t, srv, bus.RefusedSubscribeDenied, 2)

	if err := headend.NC.Publish(bus.ReceiptSubject(vid.LFDI), []byte("receipt")); err != nil {
		t.Fatal(err)
	}
	if m, err := own.NextMsg(5 * time.Second); err != nil || string(m.Data) != "receipt" {
		t.Fatalf("owner did not get its receipt: %v", err)
	}
	for _, s := range []*nats.Subscription{spy, inboxSpy} {
		if m, err := s.NextMsg(200 * time.Millisecond); err == nil {
			t.Fatalf("spy on %s received %q", s.Subject, m.Data)
		} else if !errors.Is(err, nats.ErrPermissionViolation) {
			t.Fatalf("spy on %s: err = %v, want permission violation", s.Subject, err)
		}
	}
}

func TestDurableAcrossRestart(t *testing.T) {
	const n = 40
	ca := bustest.NewCA(t)
	cfg := ca.ServerConfig(t)
	first, err := bus.StartServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ca.SetURL(first.ClientURL())
	mcfg, id := ca.Client(t, bus.RoleMeter)
	meter := connect(t, mcfg)
	for i := range n {
		if err := bus.PublishReading(ctxFor(t, 5*time.Second), meter, id.LFDI, fmt.Sprint("m-", i), fmt.Appendf(nil, "reading %d", i)); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	meter.Close()
	first.Shutdown()

	second := ca.Start(t, cfg) // same Dir
	admin, _ := client(t, ca, bus.RoleBus)
	st, err := admin.JS.Stream(ctxFor(t, 5*time.Second), bus.ReadingsStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctxFor(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != n {
		t.Fatalf("after restart the stream holds %d readings, want %d", info.State.Msgs, n)
	}
	for i := range n {
		m, err := st.GetMsg(ctxFor(t, 5*time.Second), uint64(i+1))
		if err != nil || string(m.Data) != fmt.Sprint("reading ", i) {
			t.Fatalf("seq %d: %q, %v", i+1, m.Data, err)
		}
	}
	_ = second
}

func TestHeadEndPullConsumer(t *testing.T) {
	srv, ca := bustest.Run(t)
	headend, _ := client(t, ca, bus.RoleHeadEnd)
	meters := make([]bus.Identity, 3)
	conns := make([]*bus.Conn, 3)
	for i := range meters {
		conns[i], meters[i] = client(t, ca, bus.RoleMeter)
		receipts, err := conns[i].NC.SubscribeSync(bus.ReceiptSubject(meters[i].LFDI))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { receipts.Unsubscribe() })
		if err := bus.PublishReading(ctxFor(t, 5*time.Second), conns[i], meters[i].LFDI, "1", []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	ctx := ctxFor(t, 10*time.Second)
	if err := bus.EnsureStreams(ctx, headend.JS); err != nil {
		t.Fatalf("head-end EnsureStreams: %v", err)
	}
	cons, err := headend.JS.CreateOrUpdateConsumer(ctx, bus.ReadingsStream, jetstream.ConsumerConfig{
		Durable:   "headend",
		AckPolicy: jetstream.AckExplicitPolicy,
	})
	if err != nil {
		t.Fatalf("create consumer: %v", err)
	}
	batch, err := cons.Fetch(len(meters), jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for m := range batch.Messages() {
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatalf("ack: %v", err)
		}
		got++
	}
	if batch.Error() != nil || got != len(meters) {
		t.Fatalf("fetched %d of %d: %v", got, len(meters), batch.Error())
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.NumAckPending != 0 || info.NumPending != 0 || info.AckFloor.Stream != uint64(len(meters)) {
		t.Fatalf("consumer state after acks: pending %d, ack pending %d, floor %d", info.NumPending, info.NumAckPending, info.AckFloor.Stream)
	}
	if r := srv.Refusals(); len(r) != 0 {
		t.Fatalf("head-end hit refusals: %v", r)
	}
	// The head-end may not destroy what it consumes.
	if err := headend.JS.DeleteStream(ctxFor(t, 500*time.Millisecond), bus.ReadingsStream); err == nil {
		t.Fatal("head-end deleted the stream")
	}
	refusedAtLeast(t, srv, bus.RefusedPublishDenied, 1)
}

func TestConfigValidation(t *testing.T) {
	ca := bustest.NewCA(t)
	cfg := ca.ServerConfig(t)
	cfg.Verifier = nil
	if _, err := bus.StartServer(cfg); !errors.Is(err, bus.ErrConfig) {
		t.Errorf("no verifier: %v", err)
	}
	if _, err := bus.Connect(context.Background(), bus.ClientConfig{URL: "nats://127.0.0.1:1"}); !errors.Is(err, bus.ErrConfig) {
		t.Errorf("no TLS: %v", err)
	}
	ccfg, _ := ca.Client(t, bus.RoleMeter)
	ccfg.Identity = "a.*"
	if _, err := bus.Connect(context.Background(), ccfg); !errors.Is(err, bus.ErrBadIdentity) {
		t.Errorf("wildcard identity: %v", err)
	}
}

func TestConnectionClosedAtCertificateExpiry(t *testing.T) {
	_, ca := bustest.Run(t)
	closedAtExpiry(t, ca, 1500*time.Millisecond)
}

// closedAtExpiry connects a meter whose certificate expires after valid, on
// the server ca's clients last used, and waits for the server to close it.
func closedAtExpiry(t *testing.T, ca *bustest.TestCA, valid time.Duration) {
	t.Helper()
	cfg, _ := ca.ClientValidUntil(t, bus.RoleMeter, time.Now().Add(valid))
	c := connect(t, cfg)
	if !c.NC.IsConnected() {
		t.Fatal("not connected while the certificate is valid")
	}
	testnet.Eventually(t, valid+6*time.Second, 20*time.Millisecond, func() error {
		if c.NC.IsConnected() {
			return errors.New("still connected after the certificate expired")
		}
		return nil
	})
}

// Between revocations the server forgets the certificates of closed
// connections once they outnumber the open ones, so that a long-running
// bus does not keep every certificate it ever admitted.
func TestClosedConnectionsAreForgotten(t *testing.T) {
	ca := bustest.NewCA(t)
	cfg := ca.ServerConfig(t)
	cfg.ReverifyEvery = 20 * time.Millisecond
	srv := ca.Start(t, cfg)
	bus.SetKeepSlack(srv, 4)
	stays, _ := client(t, ca, bus.RoleMeter)
	for range 8 {
		c, _ := client(t, ca, bus.RoleMeter)
		c.Close()
	}
	testnet.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
		if n := bus.KeptCertificates(srv); n > 2+4 {
			return fmt.Errorf("%d certificates kept for 1 open connection", n)
		}
		return nil
	})
	if n := bus.KeptCertificates(srv); n < 1 {
		t.Fatalf("the open connection's certificate was forgotten too (%d kept)", n)
	}
	if !stays.NC.IsConnected() {
		t.Fatal("the open connection was closed")
	}
}

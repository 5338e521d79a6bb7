package daemon

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/usapp/usapp/platform/bus"
	"github.com/usapp/usapp/platform/bus/bustest"
)

// A daemon whose certificate the bus stops accepting stops too, saying why;
// one stopped by its context does not report the bus.
func TestUntilBusCloses(t *testing.T) {
	ca := bustest.NewCA(t)
	scfg := ca.ServerConfig(t)
	scfg.ReverifyEvery = 50 * time.Millisecond
	ca.Start(t, scfg)
	connect := func() (*bus.Conn, bus.ClientConfig) {
		cfg, _ := ca.Client(t, bus.RoleGateway)
		conn, err := bus.Connect(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(conn.Close)
		return conn, cfg
	}

	revoked, cfg := connect()
	run, stop, why := untilBusCloses(t.Context(), revoked)
	defer stop()
	ca.Revoke(t, cfg)
	select {
	case <-run.Done():
	case <-time.After(15 * time.Second):
		t.Fatal("still running 15 s after the bus refused the certificate")
	}
	var h *Hinted
	if err := why(); !errors.As(err, &h) || !errors.Is(err, bus.ErrCertificateRefused) {
		t.Fatalf("why = %v, want a hinted bus.ErrCertificateRefused", err)
	}

	fine, _ := connect()
	ctx, cancel := context.WithCancel(t.Context())
	run, stop, why = untilBusCloses(ctx, fine)
	defer stop()
	cancel()
	<-run.Done()
	if err := why(); err != nil {
		t.Fatalf("stopped by its context: why = %v, want nil", err)
	}
}

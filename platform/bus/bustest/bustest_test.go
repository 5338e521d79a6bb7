package bustest_test

import (
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/usapp/usapp/platform/bus"
	"github.com/usapp/usapp/platform/bus/bustest"
)

func TestVerifier(t *testing.T) {
	ca := bustest.NewCA(t)
	cfg, id := ca.Client(t, bus.RoleGateway)
	leaf := cfg.TLS.Certificates[0].Leaf
	if !regexp.MustCompile(`^[0-9A-F]{40}$`).MatchString(id.LFDI) || id.LFDI != bustest.LFDI(leaf) {
		t.Fatalf("LFDI %q", id.LFDI)
	}
	got, err := ca.VerifyPeer(leaf, time.Now())
	if err != nil || got != id {
		t.Fatalf("VerifyPeer = %+v, %v; want %+v", got, err, id)
	}
	if _, err := ca.VerifyPeer(leaf, time.Now().Add(48*time.Hour)); err == nil {
		t.Fatal("expired certificate accepted")
	}
	other := bustest.NewCA(t)
	if _, err := other.VerifyPeer(leaf, time.Now()); err == nil {
		t.Fatal("certificate of another CA accepted")
	}
	second, _ := ca.Client(t, bus.RoleMeter)
	ca.Revoke(t, cfg)
	if _, err := ca.VerifyPeer(leaf, time.Now()); !errors.Is(err, bustest.ErrRevoked) {
		t.Fatalf("revoked certificate: %v", err)
	}
	if _, err := ca.VerifyPeer(second.TLS.Certificates[0].Leaf, time.Now()); err != nil {
		t.Fatalf("revoking one certificate refused another: %v", err)
	}
}

func TestRunSetsClientURL(t *testing.T) {
	srv, ca := bustest.Run(t)
	cfg, _ := ca.Client(t, bus.RoleMeter)
	if cfg.URL != srv.ClientURL() || cfg.URL == "" {
		t.Fatalf("client URL %q, server %q", cfg.URL, srv.ClientURL())
	}
}

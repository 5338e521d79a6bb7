package daemon

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/usapp/usapp/comms/pki/dbstate"
	"github.com/usapp/usapp/framework"
	"github.com/usapp/usapp/internal/testnet"
	"github.com/usapp/usapp/platform/bus"
	"github.com/usapp/usapp/roles/gateway"
)

// Revocation end to end: a running gateway whose device is revoked with
// `usapp ca revoke` is closed out of the embedded bus (ca.crl_refresh, then
// bus.reverify_every) and stops with an error that says why, while the
// head-end runs on and counts the closure in GET /stats. The head-end's GET
// /controls lists the embedded bus's control with the period.
func TestRevokedGatewayStops(t *testing.T) {
	p, heCfg := newPair(t, ", crl_refresh: 200ms", ", reverify_every: 100ms", "  name: home-9\n  interval: 250ms\n")
	runHeadEnd(t, p, heCfg)
	var controls struct{ Controls []framework.Active }
	if err := getJSON("http://"+p.heHTTP+"/controls", &controls); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(controls.Controls, func(a framework.Active) bool { return a.ID == framework.BusAccessControl })
	if i < 0 || controls.Controls[i].Params["reverify_every"] != "100ms" {
		t.Fatalf("head-end with the embedded bus: GET /controls %+v, want %s with reverify_every 100ms", controls.Controls, framework.BusAccessControl)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- RunGateway(ctx, p.gw, p.log) }()
	testnet.Eventually(t, 30*time.Second, 100*time.Millisecond, func() error {
		var st gateway.Stats
		if err := getJSON("http://"+p.gwHTTP+"/stats", &st); err != nil {
			return err
		}
		if st.Accepted == 0 {
			return errors.New("no reading accepted yet")
		}
		return nil
	})

	gws, err := ListCertificates(ctx, heCfg, dbstate.Query{Subject: "OU=gateway"}, nil)
	if err != nil || len(gws) != 1 {
		t.Fatalf("the gateway's certificates: %v, %v", gws, err)
	}
	if _, err := Revoke(ctx, heCfg, Revocation{LFDI: gws[0].Identity}, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		var h *Hinted
		if !errors.Is(err, bus.ErrCertificateRefused) || !errors.As(err, &h) {
			t.Fatalf("revoked gateway stopped with %v, want a hinted bus.ErrCertificateRefused", err)
		}
	case <-time.After(15 * time.Second): // the defaults would take up to 90 s
		t.Fatal("the revoked gateway still runs 15 s after its revocation")
	}
	var st headEndStats
	if err := getJSON("http://"+p.heHTTP+"/stats", &st); err != nil {
		t.Fatalf("head-end after the revocation: %v", err)
	}
	if st.BusRefusals[bus.RefusedReverify] != 1 || st.Accepted == 0 {
		t.Fatalf("head-end's GET /stats after the revocation: %+v, want one connection closed by reverify", st)
	}
}

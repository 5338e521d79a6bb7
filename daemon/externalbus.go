package daemon

import (
	"cmp"
	"context"
	"log/slog"
	"maps"
	"time"

	"github.com/usapp/usapp/config"
	"github.com/usapp/usapp/framework"
	"github.com/usapp/usapp/platform/bus"
	"github.com/usapp/usapp/roles/ca"
	"github.com/usapp/usapp/roles/headend"
)

// busAccess is what enforces A3.bus-access-control for the head-end: the
// embedded server, or the head-end's part beside an external one.
type busAccess interface {
	Controls() []framework.Active
	Refusals() map[string]uint64
}

// externalBus is the head-end's part in an external server's access control
// (bus.url): answering its auth callout (bus.callout), closing revoked
// devices' connections through its system account (bus.system_nkey), both
// or neither.
type externalBus struct {
	callout  *bus.Callout
	evictor  *bus.Evictor
	reverify time.Duration
	stops    []func()
}

func startExternalBus(ctx context.Context, cfg *config.Config, auth *headEndAuthority, src headend.SerialSource, log *slog.Logger) (*externalBus, error) {
	e := &externalBus{reverify: cmp.Or(time.Duration(cfg.Bus.ReverifyEvery), bus.DefaultReverifyEvery)}
	// The callout first: it admits the head-end's own connections.
	if cfg.Bus.Callout.Nkey != "" {
		if err := e.answerCallout(ctx, cfg, auth, log.With("role", "callout")); err != nil {
			return nil, err
		}
	}
	if cfg.Bus.SystemNkey != "" {
		if err := e.evictRevoked(ctx, cfg, auth, src, log.With("role", "evictor")); err != nil {
			e.stop()
			return nil, err
		}
	}
	return e, nil
}

// answerCallout answers the server's auth callout with the embedded bus's
// decisions, as the callout user (bus.callout.nkey).
func (e *externalBus) answerCallout(ctx context.Context, cfg *config.Config, auth *headEndAuthority, log *slog.Logger) error {
	nc, err := bus.DialService(ctx, bus.ServiceConfig{URL: cfg.Bus.URL, TLS: auth.head.tlsConfig(auth.root),
		NkeySeedFile: cfg.Bus.Callout.Nkey, Name: "usapp-headend-callout", Log: log})
	if err != nil {
		return err
	}
	c, err := bus.StartCallout(bus.CalloutConfig{Conn: nc, IssuerSeedFile: cfg.Bus.Callout.Issuer,
		Account: cfg.Bus.Callout.Account, Verifier: ca.BusVerifier(auth.busVerifier), Log: log})
	if err != nil {
		nc.Close()
		return err
	}
	log.Info("answering the bus's auth callout", "issuer", c.Issuer(), "account", cfg.Bus.Callout.Account)
	e.callout = c
	e.stops = append(e.stops, func() { c.Stop(); nc.Close() })
	return nil
}

// evictRevoked closes revoked devices' connections every
// bus.reverify_every. The head-end presents its own certificate, for a
// server that asks every client for one, and the system user's nkey.
func (e *externalBus) evictRevoked(ctx context.Context, cfg *config.Config, auth *headEndAuthority, src headend.SerialSource, log *slog.Logger) error {
	sys, err := bus.DialService(ctx, bus.ServiceConfig{URL: cfg.Bus.URL, TLS: auth.head.tlsConfig(auth.root),
		NkeySeedFile: cfg.Bus.SystemNkey, Name: "usapp-headend-evictor", Log: log})
	if err != nil {
		return err
	}
	revoked := headend.NewRevokedCertificates(auth.verifier, src, log)
	ev, err := bus.NewEvictor(bus.EvictorConfig{Conn: sys, Revoked: revoked.Revoked, Log: log})
	if err != nil {
		sys.Close()
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		revoked.Evict(ctx, ev, e.reverify)
	}()
	e.evictor = ev
	e.stops = append(e.stops, func() { cancel(); <-done; sys.Close() })
	return nil
}

func (e *externalBus) stop() {
	for i := len(e.stops) - 1; i >= 0; i-- {
		e.stops[i]()
	}
}

// Controls reports A3.bus-access-control as far as the head-end enforces it
// on the external server; with neither part, the server's own
// configuration decides, and nothing is claimed.
func (e *externalBus) Controls() []framework.Active {
	if e.callout == nil && e.evictor == nil {
		return nil
	}
	access := framework.Active{ID: framework.BusAccessControl, Params: map[string]string{
		"authentication": "the external server's own: chain checked at the TLS handshake",
		"subjects":       "the external server's own",
	}}
	if e.callout != nil {
		access = e.callout.Controls()[0]
	}
	access.Params["reverify_every"] = "never"
	if e.evictor != nil {
		access.Params["reverify_every"] = e.reverify.String()
	}
	return []framework.Active{access}
}

// Refusals counts the callout's refusals and, as the embedded server does
// under bus.RefusedReverify, the connections closed after a revocation.
func (e *externalBus) Refusals() map[string]uint64 {
	out := map[string]uint64{}
	if e.callout != nil {
		maps.Copy(out, e.callout.Refusals())
	}
	if e.evictor != nil && e.evictor.Evicted() > 0 {
		out[bus.RefusedReverify] = e.evictor.Evicted()
	}
	return out
}

package bus

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go"
)

// ServiceConfig configures a service connection to an external server: a
// user the server authenticates itself, by nkey, in its system account (for
// an Evictor) or in its auth callout account (for a Callout).
type ServiceConfig struct {
	URL          string
	TLS          *tls.Config // RootCAs, and a client certificate if the server asks for one (required)
	NkeySeedFile string      // the user's nkey seed file (required)
	Name         string      // connection name shown in server monitoring
	Log          *slog.Logger
}

// DialService connects to an external server as a service user,
// authenticated by an nkey over TLS. It reconnects forever.
func DialService(ctx context.Context, cfg ServiceConfig) (*nats.Conn, error) {
	if cfg.TLS == nil || cfg.NkeySeedFile == "" {
		return nil, fmt.Errorf("%w: a service connection needs TLS and an nkey seed file", ErrConfig)
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	nkey, err := nats.NkeyOptionFromSeed(cfg.NkeySeedFile)
	if err != nil {
		return nil, fmt.Errorf("%w: nkey seed: %w", ErrConfig, err)
	}
	nc, err := nats.Connect(cfg.URL, nkey, nats.Secure(cfg.TLS.Clone()), nats.Name(cfg.Name),
		nats.Timeout(dialTimeout(ctx)), nats.MaxReconnects(-1), nats.CustomReconnectDelay(reconnectDelay),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				cfg.Log.Warn("bus: service connection lost", "name", cfg.Name, "err", err)
			}
		}))
	if err != nil {
		return nil, fmt.Errorf("bus: service connection %s: %w", cfg.Name, err)
	}
	return nc, nil
}

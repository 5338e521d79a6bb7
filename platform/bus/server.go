package bus

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/usapp/usapp/framework"
)

// DefaultMaxPayload bounds one message; a sealed reading is far smaller.
const DefaultMaxPayload = 64 << 10

// readyTimeout is how long StartServer waits for the listener and JetStream.
const readyTimeout = 10 * time.Second

// ServerConfig configures the embedded server.
type ServerConfig struct {
	Dir        string           // JetStream store directory (required)
	Listen     string           // host:port; "127.0.0.1:-1" picks a free port
	TLS        *tls.Config      // server certificate, ClientCAs, RequireAndVerifyClientCert (required)
	Verifier   PeerVerifier     // required
	Now        func() time.Time // clock for the verifier; default time.Now
	Log        *slog.Logger     // default slog.Default()
	MaxPayload int32            // default DefaultMaxPayload
	// ReverifyEvery is how often the certificates of connected clients are
	// checked again, so that a revocation closes a connection that was
	// admitted before it (at most once per change of a Revisioned
	// verifier). 0 means DefaultReverifyEvery, negative never.
	ReverifyEvery time.Duration
}

// Server is a running embedded NATS server with JetStream.
type Server struct {
	ns       *server.Server
	refused  *refusals
	log      *slog.Logger
	verifier PeerVerifier
	now      func() time.Time
	peers    *peerCerts
	// keepSlack is the constant of that name; tests lower it.
	keepSlack atomic.Int64

	reverifyEvery time.Duration

	stop     chan struct{} // closed by Shutdown: stops the reverify loop
	loopDone chan struct{}
	stopOnce sync.Once
}

// StartServer starts the server, waits until it accepts connections and
// JetStream is up (SyncAlways), and creates or updates the streams.
func StartServer(cfg ServerConfig) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{refused: &refusals{}, log: cfg.Log, verifier: cfg.Verifier, now: cfg.Now, peers: &peerCerts{},
		stop: make(chan struct{}), loopDone: make(chan struct{})}
	s.keepSlack.Store(keepSlack)
	auth := &authenticator{verifier: cfg.Verifier, now: cfg.Now, log: cfg.Log, refused: s.refused, peers: s.peers, adminToken: randomToken()}
	opts, err := serverOptions(cfg, auth)
	if err != nil {
		return nil, err
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStart, err)
	}
	ns.SetLoggerV2(&natsLog{log: cfg.Log.With("component", "nats"), refused: s.refused}, false, false, false)
	s.ns = ns
	ns.Start()
	if !ns.ReadyForConnections(readyTimeout) {
		s.Shutdown()
		return nil, fmt.Errorf("%w: not ready within %s", ErrStart, readyTimeout)
	}
	if jsc := ns.JetStreamConfig(); jsc == nil || !jsc.SyncAlways {
		s.Shutdown()
		return nil, fmt.Errorf("%w: jetstream not running with sync always", ErrStart)
	}
	if err := s.ensureStreams(auth.adminToken); err != nil {
		s.Shutdown()
		return nil, err
	}
	s.reverifyEvery = cfg.ReverifyEvery
	if cfg.ReverifyEvery > 0 {
		go s.reverifyLoop(cfg.ReverifyEvery, s.stop, s.loopDone)
	} else {
		close(s.loopDone)
	}
	cfg.Log.Info("bus: server ready", "url", ns.ClientURL(), "store", cfg.Dir, "sync", "always")
	return s, nil
}

func (cfg ServerConfig) withDefaults() (ServerConfig, error) {
	switch {
	case cfg.Dir == "":
		return cfg, fmt.Errorf("%w: Dir is required", ErrConfig)
	case cfg.TLS == nil:
		return cfg, fmt.Errorf("%w: TLS is required", ErrConfig)
	case cfg.TLS.ClientAuth != tls.RequireAndVerifyClientCert:
		return cfg, fmt.Errorf("%w: TLS.ClientAuth must be RequireAndVerifyClientCert", ErrConfig)
	case cfg.Verifier == nil:
		return cfg, fmt.Errorf("%w: Verifier is required", ErrConfig)
	case cfg.MaxPayload < 0:
		return cfg, fmt.Errorf("%w: MaxPayload is negative", ErrConfig)
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:-1"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.MaxPayload == 0 {
		cfg.MaxPayload = DefaultMaxPayload
	}
	if cfg.ReverifyEvery == 0 {
		cfg.ReverifyEvery = DefaultReverifyEvery
	}
	return cfg, nil
}

func serverOptions(cfg ServerConfig, auth *authenticator) (*server.Options, error) {
	host, portText, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("%w: Listen: %w", ErrConfig, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, fmt.Errorf("%w: Listen port: %w", ErrConfig, err)
	}
	return &server.Options{
		ServerName:                 "usapp-bus",
		Host:                       host,
		Port:                       port,
		NoSigs:                     true,
		MaxPayload:                 cfg.MaxPayload,
		TLS:                        true,
		TLSVerify:                  true,
		TLSConfig:                  cfg.TLS.Clone(),
		TLSTimeout:                 5, // seconds; loaded CI machines are slow to handshake
		AuthTimeout:                5,
		CustomClientAuthentication: auth,
		JetStream:                  true,
		StoreDir:                   cfg.Dir,
		// fsync before every acknowledgement (see the package doc).
		SyncAlways:   true,
		SyncInterval: 2 * time.Minute,
	}, nil
}

func randomToken() string {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand documentation)
	return hex.EncodeToString(b[:])
}

// ensureStreams connects in-process, bypassing TCP and TLS, as the bus
// itself.
func (s *Server) ensureStreams(token string) error {
	nc, err := nats.Connect("", nats.InProcessServer(s.ns), nats.Token(token), nats.Name("usapp-bus-internal"))
	if err != nil {
		return fmt.Errorf("%w: internal connection: %w", ErrStart, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrStart, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	return EnsureStreams(ctx, js)
}

// ClientURL is the URL clients connect to.
func (s *Server) ClientURL() string { return s.ns.ClientURL() }

// Shutdown stops the server and waits until it has stopped, so a new server
// may open the same Dir.
func (s *Server) Shutdown() {
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.loopDone
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}

// Refusals returns a copy of the refusal counters by reason (the Refused*
// constants).
func (s *Server) Refusals() map[string]uint64 { return s.refused.snapshot() }

// Controls lists the control the server runs, for the GET /controls of the
// role that embeds it.
func (s *Server) Controls() []framework.Active {
	reverify := "never"
	if s.reverifyEvery > 0 {
		reverify = s.reverifyEvery.String()
	}
	return []framework.Active{{ID: framework.BusAccessControl, Params: map[string]string{
		"authentication": "mutual TLS: client certificate, chain and CRL checked at connection",
		"subjects":       "each identity its own (" + ReadingsPrefix + "<LFDI> ...)",
		"reverify_every": reverify,
	}}}
}

// streamNames lists the streams this package manages.
func streamNames() []string { return []string{ReadingsStream} }

// readingsStreamConfig is the READINGS stream. Limits retention with no
// limits keeps every reading until an operator configures otherwise; the
// head-end's pull consumer tracks what it has processed.
func readingsStreamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        ReadingsStream,
		Description: "usapp.v1 sealed readings",
		Subjects:    []string{ReadingsPrefix + ">"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		Duplicates:  DuplicateWindow,
		Replicas:    1,
		DenyDelete:  true,
		DenyPurge:   true,
	}
}

// EnsureStreams creates the streams of the contract or brings their
// configuration up to date. It is idempotent; the head-end runs it against
// an external NATS as well.
func EnsureStreams(ctx context.Context, js jetstream.JetStream) error {
	if _, err := js.CreateOrUpdateStream(ctx, readingsStreamConfig()); err != nil {
		return fmt.Errorf("bus: ensure stream %s: %w", ReadingsStream, err)
	}
	return nil
}

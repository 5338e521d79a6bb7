package daemon

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/usapp/usapp/comms/envelope"
	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/comms/pki/est"
	"github.com/usapp/usapp/computing/keystore"
	"github.com/usapp/usapp/config"
	"github.com/usapp/usapp/framework"
	"github.com/usapp/usapp/internal/durable"
	"github.com/usapp/usapp/platform/bus"
	"github.com/usapp/usapp/platform/store"
	"github.com/usapp/usapp/roles/ca"
	"github.com/usapp/usapp/roles/headend"
	"github.com/usapp/usapp/sim/clock"
)

// RunHeadEnd runs the head-end (with its embedded CA and bus unless
// configured otherwise) until ctx ends.
func RunHeadEnd(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	ks, err := openKeystore(cfg)
	if err != nil {
		return err
	}
	auth, err := openAuthority(ctx, cfg, ks, log)
	if err != nil {
		return err
	}
	defer auth.stop()
	root := auth.root
	id, err := auth.head.identity()
	if err != nil {
		return err
	}
	hpke, err := x25519Key(ks, "headend-hpke")
	if err != nil {
		return err
	}
	dsn := cfg.Store.DSN
	if dsn == "" {
		dsn = "sqlite:" + filepath.Join(cfg.DataDir, "headend.db")
	}
	st, err := store.Open(ctx, dsn, log.With("role", "store"))
	if err != nil {
		return err
	}
	defer st.Close()

	estc := &est.Client{BaseURL: auth.url, HTTP: httpClient(clientTLS(root))}
	resolver := headend.NewResolver(auth.verifier, headend.ESTDirectory(estc))
	crls := &keptCRL{fetch: estc.CRL, path: filepath.Join(cfg.DataDir, "crl.der"), log: log}
	crl, err := crls.first(ctx)
	if err != nil {
		return err
	}
	if err := resolver.SetCRL(crl, time.Now()); err != nil {
		return fmt.Errorf("headend: CRL: %w", err)
	}
	go resolver.WatchCRL(ctx, crls.Fetch, time.Now, cmp.Or(time.Duration(cfg.CA.CRLRefresh), time.Minute), log)
	// The bus starts after the first CRL: with an external CA it checks
	// clients with the resolver's verifier.
	busURL, busSrv, busCred, err := startBus(cfg, ks, auth, log)
	if err != nil {
		return err
	}
	var access busAccess = busSrv
	if busSrv != nil {
		defer busSrv.Shutdown()
	} else {
		ext, err := startExternalBus(ctx, cfg, auth, headend.ESTSerials(estc), log)
		if err != nil {
			return err
		}
		defer ext.stop()
		access = ext
	}
	// The head-end's certificate, and its bus's, renew while it runs: each
	// is presented at every handshake from its credential.
	creds := []*credential{auth.head}
	if busCred != nil {
		creds = append(creds, busCred)
	}
	renewDue(ctx, creds, auth.url, root, log)
	go renewLoop(ctx, creds, auth.url, root, renewPeriod(creds), log)

	opener, err := envelope.NewOpener(envelope.OpenerConfig{Key: hpke, Keys: resolver, MaxAge: time.Duration(cfg.HeadEnd.MaxAge)})
	if err != nil {
		return err
	}
	ing, err := headend.NewIngester(ctx, headend.IngesterConfig{Opener: opener, Store: st, Resolver: resolver,
		Origin: cfg.HeadEnd.Origin, Self: id.LFDI, Key: auth.head.key(), Log: log.With("role", "headend")})
	if err != nil {
		return err
	}
	conn, err := bus.Connect(ctx, bus.ClientConfig{URL: busURL, TLS: auth.head.tlsConfig(root),
		Identity: id.LFDI, Name: "headend", Log: log})
	if err != nil {
		return err
	}
	defer conn.Close()
	he, err := headend.New(headend.Config{Batch: cfg.HeadEnd.Batch, AckWait: time.Duration(cfg.HeadEnd.AckWait),
		Tariff: cfg.Tariff, Origin: cfg.HeadEnd.Origin}, ing, st, conn, clock.Real{}, log.With("role", "headend"))
	if err != nil {
		return err
	}
	bundle := func() HeadEndBundle {
		return NewHeadEndBundle(cfg.HeadEnd.Origin, auth.head.certificate(), auth.head.key(), hpke.PublicKey())
	}
	addr, stopHTTP, err := serveHTTP(ctx, cfg.HeadEnd.HTTP, headEndHandler(he, bundle, access), log)
	if err != nil {
		return err
	}
	defer stopHTTP()
	log.Info("head-end ready", "http", addr.String(), "bus", busURL, "ca", auth.url, "store", st.Dialect())
	runCtx, stopRun, busLost := untilBusCloses(ctx, conn)
	defer stopRun()
	err = he.Run(runCtx)
	if lost := busLost(); lost != nil {
		return lost
	}
	return err
}

// keptCRL fetches the CA's CRL and keeps the last one it got in a file, so
// that a head-end restarted while its CA is down can start on it while it is
// current (SetCRL checks its signature and its NextUpdate).
type keptCRL struct {
	fetch func(context.Context) ([]byte, error)
	path  string
	saved []byte // what the file holds, so that an unchanged list is not written again
	log   *slog.Logger
}

// Fetch fetches the CRL and saves it when it changed (the CA re-signs it
// well before NextUpdate, not at every fetch). The copy is a fallback: a
// failure to save it is logged, and the fetched list is used all the same.
func (k *keptCRL) Fetch(ctx context.Context) ([]byte, error) {
	der, err := k.fetch(ctx)
	if err != nil || bytes.Equal(der, k.saved) {
		return der, err
	}
	if err := durable.WriteFile(k.path, der, 0o644); err != nil {
		k.log.Warn("saving the CRL failed; a restart while the CA is down may not start", "file", k.path, "err", err)
		return der, nil
	}
	k.saved = der
	return der, nil
}

// first is the CRL to start on: the CA's, or the saved one if the CA does
// not answer.
func (k *keptCRL) first(ctx context.Context) ([]byte, error) {
	der, err := k.Fetch(ctx)
	if err == nil {
		return der, nil
	}
	saved, rerr := os.ReadFile(k.path)
	if rerr != nil {
		return nil, fmt.Errorf("headend: first CRL: %w", err)
	}
	k.log.Warn("the CA does not answer; starting on the saved CRL", "file", k.path, "err", err)
	return saved, nil
}

// headEndCredential loads the head-end's certificate, issuing one from the
// embedded CA on first start, and again when the saved one is not this CA's,
// not for the keystore's key, or expired (a new identity: gateways fetch the
// head-end's bundle again at their next start). One that is only due is
// renewed by the renewal loop, which keeps the identity.
func headEndCredential(cfg *config.Config, ks keystore.Keystore, c *pki.CA) (*credential, error) {
	key, err := ed25519Key(ks, "headend")
	if err != nil {
		return nil, err
	}
	path := filepath.Join(cfg.DataDir, "headend.pem")
	cert, err := keptServiceCert(c.Certificate(), service{role: pki.RoleHeadEnd, key: key, path: path}, func() (*x509.Certificate, error) {
		return c.Issue(pki.RoleHeadEnd, cfg.HeadEnd.Name, "", key.Public(), time.Now())
	})
	if err != nil {
		return nil, err
	}
	return newServiceCredential(cfg.HeadEnd.Name, path, cert, key), nil
}

// startBus starts the embedded bus unless bus.url names an external one,
// and returns its URL, the server and its credential (both nil for an
// external bus).
func startBus(cfg *config.Config, ks keystore.Keystore, auth *headEndAuthority, log *slog.Logger) (string, *bus.Server, *credential, error) {
	if cfg.Bus.URL != "" {
		return cfg.Bus.URL, nil, nil, nil
	}
	key, err := ed25519Key(ks, "bus-tls")
	if err != nil {
		return "", nil, nil, err
	}
	cert, err := auth.busCert(hostsOf(cfg.Bus.Listen), key)
	if err != nil {
		return "", nil, nil, err
	}
	cred := newServiceCredential("bus", filepath.Join(cfg.DataDir, "bus.pem"), cert, key)
	tcfg := &tls.Config{MinVersion: tls.VersionTLS13, GetCertificate: cred.serverCertificate,
		ClientCAs: rootPool(auth.root), ClientAuth: tls.RequireAndVerifyClientCert}
	srv, err := bus.StartServer(bus.ServerConfig{Dir: filepath.Join(cfg.DataDir, "jetstream"), Listen: cfg.Bus.Listen,
		TLS: tcfg, Verifier: ca.BusVerifier(auth.busVerifier), ReverifyEvery: time.Duration(cfg.Bus.ReverifyEvery),
		Log: log.With("role", "bus")})
	if err != nil {
		return "", nil, nil, err
	}
	return srv.ClientURL(), srv, cred, nil
}

func x25519Key(ks keystore.Keystore, name string) (*ecdh.PrivateKey, error) {
	k, err := ks.Get(name)
	if errors.Is(err, keystore.ErrNotFound) {
		nk, err := ecdh.X25519().GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		return nk, ks.Put(name, nk)
	}
	if err != nil {
		return nil, err
	}
	xk, ok := k.(*ecdh.PrivateKey)
	if !ok || xk.Curve() != ecdh.X25519() {
		return nil, fmt.Errorf("keystore entry %q is not an X25519 key", name)
	}
	return xk, nil
}

// headEndHandler serves the head-end's API; bundle is the current key
// bundle, with the certificate in use.
func headEndHandler(he *headend.HeadEnd, bundle func() HeadEndBundle, access busAccess) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /controls", framework.ControlsHandler("headend", func() []framework.Active {
		return append(he.Controls(), access.Controls()...)
	}))
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, headEndStats{Stats: he.Ingester().Stats(), BusRefusals: access.Refusals()})
	})
	mux.HandleFunc("GET /bills", func(w http.ResponseWriter, r *http.Request) {
		bills, err := he.Bills(r.Context())
		if err != nil {
			http.Error(w, "billing unavailable", http.StatusServiceUnavailable)
			return
		}
		writeJSON(w, bills)
	})
	mux.HandleFunc("GET /log/checkpoint", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write(he.Ingester().Checkpoint())
	})
	mux.HandleFunc("GET /usapp/v1/headend", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, bundle()) })
	return mux
}

// headEndStats is GET /stats: the ingester's counters and, with the
// embedded bus, its refusals by reason (bus.Refused*: connections refused or
// closed, denied publishes and subscriptions).
type headEndStats struct {
	headend.Stats
	BusRefusals map[string]uint64 `json:"bus_refusals,omitempty"`
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

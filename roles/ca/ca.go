// Package ca is the certificate authority role: it runs the CA of comms/pki
// behind EST over HTTPS (comms/pki/est), publishes the CRL, answers
// certificate look-ups by LFDI, and lets an enrolled gateway obtain one-time
// tokens that bind its meters to it.
//
// Controls: A1.enrolment, A1.certificate-rotation, A1.revocation, and
// B1.keys-at-rest for the CA's own key.
//
// # HTTP API (version 1, a public contract)
//
//	GET  /.well-known/est/cacerts          the root certificate (DER)
//	POST /.well-known/est/simpleenroll     enrol with a one-time token
//	POST /.well-known/est/simplereenroll   rotate, authenticated by the current certificate
//	GET  /crl                              the current CRL (DER)
//	GET  /usapp/v1/certs/{lfdi}            the device's newest certificates (DER, back to back), 404 if none
//	GET  /usapp/v1/serials/{serial}        the certificate issued with that serial (DER), 404 if none
//	POST /usapp/v1/meter-token?name=N      a gateway (client certificate) asks for a token
//	                                       that enrols a meter bound to it
//	GET  /controls                         the controls this role runs
//
// The EST paths and the two USaPP extensions are served by comms/pki/est.
package ca

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/comms/pki/dbstate"
	"github.com/usapp/usapp/comms/pki/est"
	"github.com/usapp/usapp/computing/keystore"
	"github.com/usapp/usapp/framework"
	"github.com/usapp/usapp/internal/durable"
	"github.com/usapp/usapp/sim/clock"
)

// KeyName is the keystore entry of the CA's signing key.
const KeyName = "ca"

// RootFile is the PEM file of the root certificate in the CA's data dir.
const RootFile = "ca.pem"

// Config sets up the CA role.
type Config struct {
	Name    string      // CA name, e.g. "USaPP Demo CA"
	DataDir string      // state.json, ca.pem, certs/
	Listen  string      // HTTPS listen address, "127.0.0.1:0" picks a port
	Hosts   []string    // names and IPs in the server certificate
	Clock   clock.Clock // issuance time and TLS time
	Log     *slog.Logger
	// State holds tokens, serials, revocations and issued certificates.
	// Nil means a database (comms/pki/dbstate) named by StateDSN; the demo,
	// whose data dir lives for one run, passes pki.NewMemState().
	State pki.State
	// StateDSN names the database of a nil State (platform/sqldb's forms);
	// empty means SQLite at DataDir/ca.db. A state.json and certs/ left by
	// an earlier version in DataDir are imported into it at the first Open.
	StateDSN string
	// CRLEvery is how often the CA re-reads its revocations into the
	// verifier its own services use (the embedded bus), so that a
	// revocation recorded by another process (usapp ca revoke) takes effect
	// without a restart. Zero means a minute.
	CRLEvery time.Duration
}

// StateFile and CertsDir are where versions before the database kept the
// CA's state, in its data dir; Open imports them.
const (
	StateFile = "state.json"
	CertsDir  = "certs"
)

// openTimeout bounds connecting to the state's database and importing.
const openTimeout = 5 * time.Minute

// Authority is the running CA role.
type Authority struct {
	cfg      Config
	ca       *pki.CA
	dir      *directory
	verifier *pki.Verifier
	srv      *http.Server
	ln       net.Listener
	mu       sync.Mutex
	crlAt    time.Time

	closeState func() error
	done       chan struct{} // closed by Shutdown: stops crlLoop
	loopDone   chan struct{}
	stopOnce   sync.Once

	serverKey  crypto.Signer
	certMu     sync.Mutex // one renewal of the HTTPS certificate at a time
	serverCert atomic.Pointer[tls.Certificate]
}

// Open loads the CA from cfg.DataDir and ks, creating a new root on first use.
func Open(cfg Config, ks keystore.Keystore) (*Authority, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	if cfg.CRLEvery <= 0 {
		cfg.CRLEvery = time.Minute
	}
	st, closeState := cfg.State, func() error { return nil }
	if st == nil {
		db, err := OpenState(cfg.DataDir, cfg.StateDSN, cfg.Log)
		if err != nil {
			return nil, err
		}
		st, closeState = db, db.Close
	}
	a, err := open(cfg, ks, st)
	if err != nil {
		closeState()
		return nil, err
	}
	a.closeState = closeState
	return a, nil
}

// OpenState opens the database of the CA whose data dir is dataDir (dsn as
// Config.StateDSN) and imports what an earlier version kept in files there.
// The CA role opens it so; so does an administrator's tool, which may run
// beside a running CA. A nil log discards log output.
func OpenState(dataDir, dsn string, log *slog.Logger) (*dbstate.State, error) {
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()
	if dsn == "" {
		dsn = "sqlite:" + filepath.Join(dataDir, "ca.db")
	}
	db, err := dbstate.Open(ctx, dsn, log)
	if err != nil {
		return nil, fmt.Errorf("ca: state: %w", err)
	}
	if _, err := db.ImportFile(ctx, filepath.Join(dataDir, StateFile), filepath.Join(dataDir, CertsDir)); err != nil {
		db.Close()
		return nil, fmt.Errorf("ca: %w", err)
	}
	return db, nil
}

func open(cfg Config, ks keystore.Keystore, st pki.State) (*Authority, error) {
	dir := newDirectory(st)
	ca, err := loadOrCreate(cfg, ks, dir)
	if err != nil {
		return nil, err
	}
	return &Authority{cfg: cfg, ca: ca, dir: dir, verifier: pki.NewVerifier(ca.Certificate())}, nil
}

func loadOrCreate(cfg Config, ks keystore.Keystore, st pki.State) (*pki.CA, error) {
	rootPath := filepath.Join(cfg.DataDir, RootFile)
	k, err := ks.Get(KeyName)
	if errors.Is(err, keystore.ErrNotFound) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		if err := ks.Put(KeyName, key); err != nil {
			return nil, err
		}
		ca, err := pki.NewCA(cfg.Name, key, st, cfg.Clock.Now(), 10*365*24*time.Hour)
		if err != nil {
			return nil, err
		}
		return ca, WriteCertificate(rootPath, ca.Certificate())
	}
	if err != nil {
		return nil, fmt.Errorf("ca: key: %w", err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("ca: keystore entry %q is not an ECDSA key", KeyName)
	}
	root, err := ReadCertificate(rootPath)
	if err != nil {
		return nil, err
	}
	return pki.LoadCA(root, key, st)
}

// CA returns the authority's CA, for in-process bootstrapping of services.
func (a *Authority) CA() *pki.CA { return a.ca }

// Start listens and serves HTTPS in the background; it does not block.
func (a *Authority) Start(serverKey crypto.Signer) error {
	now := a.cfg.Clock.Now()
	a.serverKey = serverKey
	if _, err := a.issueServer(now); err != nil {
		return err
	}
	if err := a.refreshCRL(now); err != nil {
		return err
	}
	// The handler, not TLS, judges client certificates, so that a revoked
	// device gets a clear 403 rather than a failed handshake.
	tcfg := est.ServerTLSConfig(a.serverCertificate)
	tcfg.Time = a.cfg.Clock.Now
	ln, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		return fmt.Errorf("ca: listen: %w", err)
	}
	a.ln = tls.NewListener(ln, tcfg)
	a.srv = &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(a.cfg.Log.Handler(), slog.LevelWarn)}
	go func() {
		if err := a.srv.Serve(a.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.cfg.Log.Error("ca server", "err", err)
		}
	}()
	a.done = make(chan struct{})
	a.loopDone = make(chan struct{})
	go a.crlLoop()
	return nil
}

// issueServer signs a new HTTPS certificate for the CA's server key.
func (a *Authority) issueServer(now time.Time) (*tls.Certificate, error) {
	cert, err := a.ca.IssueServer(pki.RoleCA, "ca", a.cfg.Hosts, a.serverKey.Public(), now)
	if err != nil {
		return nil, err
	}
	tc := &tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: a.serverKey, Leaf: cert}
	a.serverCert.Store(tc)
	return tc, nil
}

// serverCertificate is the CA's HTTPS certificate, reissued at the first
// handshake in its last fifth (pki.NeedsRotation). The CA signs it itself,
// so a CA that runs for longer than a certificate's life needs neither the
// network nor a restart to stay reachable.
func (a *Authority) serverCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	now := a.cfg.Clock.Now()
	if cur := a.serverCert.Load(); !pki.NeedsRotation(cur.Leaf, now) {
		return cur, nil
	}
	a.certMu.Lock()
	defer a.certMu.Unlock()
	cur := a.serverCert.Load()
	if !pki.NeedsRotation(cur.Leaf, now) {
		return cur, nil // another handshake renewed it
	}
	next, err := a.issueServer(now)
	if err != nil {
		// The current one serves until it expires; the next handshake tries again.
		a.cfg.Log.Warn("renewing the CA's HTTPS certificate failed", "not_after", cur.Leaf.NotAfter, "err", err)
		return cur, nil
	}
	a.cfg.Log.Info("certificate renewed", "name", "ca", "not_after", next.Leaf.NotAfter)
	return next, nil
}

// URL is the base URL of the running server.
func (a *Authority) URL() string { return "https://" + a.ln.Addr().String() }

// Shutdown stops the server and closes the state's database. Calls after
// the first do nothing.
func (a *Authority) Shutdown(ctx context.Context) error {
	var err error
	a.stopOnce.Do(func() {
		if a.srv != nil {
			err = a.srv.Shutdown(ctx)
			close(a.done)
			<-a.loopDone
		}
		err = errors.Join(err, a.closeState())
	})
	return err
}

// crlLoop re-reads the revocations every cfg.CRLEvery until Shutdown.
func (a *Authority) crlLoop() {
	defer close(a.loopDone)
	t := time.NewTicker(a.cfg.CRLEvery)
	defer t.Stop()
	for {
		select {
		case <-a.done:
			return
		case <-t.C:
			if err := a.refreshCRL(a.cfg.Clock.Now()); err != nil {
				a.cfg.Log.Warn("re-reading the revocations failed; the last list applies", "err", err)
			}
		}
	}
}

// Handler routes the CA's HTTP API.
func (a *Authority) Handler() http.Handler {
	mux := http.NewServeMux()
	estH := est.NewHandler(a.ca, a.cfg.Clock.Now, a.cfg.Log).WithDirectory(a.dir.lookup).WithSerials(a.dir.bySerial)
	mux.Handle("GET /controls", framework.ControlsHandler("ca", a.controls))
	mux.Handle("/", estH)
	return mux
}

// controls are the CA's controls, with how often this CA re-reads its
// revocations into the verifier its services use.
func (a *Authority) controls() []framework.Active {
	out := a.ca.Controls()
	for i := range out {
		if out[i].ID == framework.Revocation {
			out[i].Params["crl_refresh"] = a.cfg.CRLEvery.String()
		}
	}
	return out
}

// refreshCRL re-signs the CRL the verifier uses at most once per CRLEvery.
func (a *Authority) refreshCRL(now time.Time) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.crlAt.IsZero() && now.Sub(a.crlAt) < a.cfg.CRLEvery && !now.Before(a.crlAt) {
		return nil
	}
	der, err := a.ca.CRL(now)
	if err != nil {
		return err
	}
	a.crlAt = now
	return a.verifier.SetCRL(der, now)
}

// Revoke revokes a certificate and makes the CA's own checks see it at once.
func (a *Authority) Revoke(cert *x509.Certificate) error {
	now := a.cfg.Clock.Now()
	if err := a.ca.Revoke(cert.SerialNumber, now); err != nil {
		return err
	}
	a.mu.Lock()
	a.crlAt = time.Time{}
	a.mu.Unlock()
	return a.refreshCRL(now)
}

// WriteCertificate writes a certificate as PEM.
func WriteCertificate(path string, c *x509.Certificate) error {
	return durable.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), 0o644)
}

// ReadCertificate reads a PEM certificate.
func ReadCertificate(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s: no PEM certificate", path)
	}
	return x509.ParseCertificate(blk.Bytes)
}

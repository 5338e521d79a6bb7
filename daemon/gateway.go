package daemon

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/usapp/usapp/comms/envelope"
	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/comms/pki/est"
	"github.com/usapp/usapp/computing/keystore"
	"github.com/usapp/usapp/computing/spool"
	"github.com/usapp/usapp/config"
	"github.com/usapp/usapp/control/energy"
	"github.com/usapp/usapp/framework"
	"github.com/usapp/usapp/internal/durable"
	"github.com/usapp/usapp/metering"
	"github.com/usapp/usapp/platform/bus"
	"github.com/usapp/usapp/roles/ca"
	"github.com/usapp/usapp/roles/gateway"
	"github.com/usapp/usapp/roles/meter"
	"github.com/usapp/usapp/sim/household"
)

// RunGateway runs a home gateway with its meters until ctx ends: it enrols
// (once; identities persist in data_dir and the keystore), fetches and checks
// the head-end's keys, and forwards a register per meter every interval.
func RunGateway(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	if cfg.CA.URL == "" || cfg.CA.RootFile == "" || cfg.Bus.URL == "" || cfg.Gateway.HeadEndURL == "" {
		return &Hinted{errors.New("a gateway needs ca.url, ca.root_file, bus.url and gateway.headend_url"),
			"point them at the head-end daemon (see config/example.yaml)"}
	}
	ks, err := openKeystore(cfg)
	if err != nil {
		return err
	}
	root, err := ca.ReadCertificate(cfg.CA.RootFile)
	if err != nil {
		return &Hinted{err, "ca.root_file must hold the PEM root the CA wrote (its data_dir/ca/ca.pem)"}
	}
	anon := &est.Client{BaseURL: cfg.CA.URL, HTTP: httpClient(clientTLS(root))}
	gwCred, err := enrolled(ctx, cfg, ks, anon, "gateway", cfg.Gateway.Name, func() (string, error) { return readToken(cfg.CA.TokenFile) })
	if err != nil {
		return fmt.Errorf("gateway enrolment: %w", err)
	}
	renewDue(ctx, []*credential{gwCred}, cfg.CA.URL, root, log)
	gwID, err := gwCred.identity()
	if err != nil {
		return err
	}
	authed := &est.Client{BaseURL: cfg.CA.URL, HTTP: httpClient(gwCred.tlsConfig(root))}
	he, err := fetchHeadEnd(ctx, cfg.Gateway.HeadEndURL, anon, root)
	if err != nil {
		return err
	}
	conn, err := bus.Connect(ctx, bus.ClientConfig{URL: cfg.Bus.URL, TLS: gwCred.tlsConfig(root),
		Identity: gwID.LFDI, Name: cfg.Gateway.Name, Log: log})
	if err != nil {
		return err
	}
	defer conn.Close()
	sp, err := spool.Open(filepath.Join(cfg.DataDir, "spool.db"), log.With("role", "spool"))
	if err != nil {
		return err
	}
	defer sp.Close()
	sess, err := envelope.NewSession(he.hpke, gwID.LFDI)
	if err != nil {
		return err
	}
	gw, err := gateway.New(gateway.Config{LFDI: gwID.LFDI, Retransmit: time.Duration(cfg.Gateway.Retransmit), Origin: he.origin},
		conn, sp, sess, gateway.HeadEndKeys{LFDI: he.id.LFDI, SigningKey: he.signing, Refresh: func(ctx context.Context) (gateway.HeadEndKeys, error) {
			now, err := fetchHeadEnd(ctx, cfg.Gateway.HeadEndURL, anon, root)
			return gateway.HeadEndKeys{LFDI: now.id.LFDI, SigningKey: now.signing}, err
		}}, log)
	if err != nil {
		return err
	}
	meters, meterCreds, err := startMeters(ctx, cfg, ks, anon, authed, root, log)
	if err != nil {
		return err
	}
	renewDue(ctx, meterCreds, cfg.CA.URL, root, log)
	creds := append(meterCreds, gwCred)
	go renewLoop(ctx, creds, cfg.CA.URL, root, renewPeriod(creds), log)
	addr, stopHTTP, err := serveHTTP(ctx, cfg.Gateway.HTTP, gatewayHandler(gw, meters), log)
	if err != nil {
		return err
	}
	defer stopHTTP()
	log.Info("gateway ready", "lfdi", gwID.LFDI, "meters", len(meters), "http", addr.String())
	// The gateway outlives the meters by a short drain, so that receipts for
	// the last readings (and retransmissions the drain makes due) still
	// arrive after a SIGTERM.
	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRun()
	done := make(chan error, 1)
	go func() { done <- gw.Run(runCtx) }()
	meterCtx, stopMeters, busLost := untilBusCloses(ctx, conn)
	defer stopMeters()
	runMeters(meterCtx, cfg, meters, gw, log)
	lost := busLost()
	if lost == nil {
		drain(sp, gwID.LFDI, drainTimeout, log)
	}
	stopRun()
	err = <-done
	// The final counters are the only record of what this run sent once the
	// HTTP surface is gone: an operator (or a test) reconciles them with bills.
	st := gw.Stats()
	log.Info("gateway stopped", "sent", st.Sent, "accepted", st.Accepted, "rejected", st.Rejected,
		"retransmissions", st.Retransmissions, "mismatches", st.Mismatches)
	if lost != nil {
		return lost // what is unacknowledged stays in the spool
	}
	return err
}

func httpClient(t *tls.Config) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: t}}
}

// enrolled returns the device's credential: the certificate saved in
// data_dir/<file>.pem with its keystore key, or one enrolled with a token on
// first start. Renewing is renewDue's: a CA that is down when a gateway
// starts must not keep it from metering while its certificate is valid.
func enrolled(ctx context.Context, cfg *config.Config, ks keystore.Keystore, c *est.Client,
	file, name string, token func() (string, error)) (*credential, error) {
	path := filepath.Join(cfg.DataDir, file+".pem")
	cert, err := ca.ReadCertificate(path)
	if err == nil {
		if time.Now().After(cert.NotAfter) {
			return nil, &Hinted{fmt.Errorf("the certificate in %s expired on %s", path, cert.NotAfter.Format(time.DateTime)),
				"a CA renews only a valid certificate: remove the file and enrol again with a new token"}
		}
		key, gen, err := keyFor(ks, file, cert)
		if err != nil {
			return nil, err
		}
		// Keys a crash left behind (stopped after saving a renewal, before
		// destroying the keys it superseded).
		if err := keystore.DeleteBefore(ks, file, gen); err != nil {
			return nil, err
		}
		return newCredential(name, file, path, ks, cert, key), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	key, err := ed25519Key(ks, file)
	if err != nil {
		return nil, err
	}
	tok, err := token()
	if err != nil {
		return nil, err
	}
	if cert, err = c.Enroll(ctx, tok, key, name); err != nil {
		return nil, err
	}
	if err := ca.WriteCertificate(path, cert); err != nil {
		return nil, err
	}
	return newCredential(name, file, path, ks, cert, key), nil
}

func readToken(path string) (string, error) {
	if path == "" {
		return "", &Hinted{errors.New("no enrolment token"), "set ca.token_file to a file holding this gateway's one-time token"}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	tok, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return strings.TrimSpace(tok), nil
}

type headEndKeys struct {
	id      pki.Identity
	signing ed25519.PublicKey
	hpke    *ecdh.PublicKey
	origin  string
}

// fetchHeadEnd reads the head-end's key bundle and checks it against the
// CA root and the current CRL.
func fetchHeadEnd(ctx context.Context, url string, anon *est.Client, root *x509.Certificate) (headEndKeys, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(url, "/")+"/usapp/v1/headend", nil)
	if err != nil {
		return headEndKeys{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return headEndKeys{}, fmt.Errorf("head-end keys: %w", err)
	}
	defer resp.Body.Close()
	var b HeadEndBundle
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&b); err != nil {
		return headEndKeys{}, fmt.Errorf("head-end keys: %w", err)
	}
	v := pki.NewVerifier(root)
	if crl, err := anon.CRL(ctx); err == nil {
		if err := v.SetCRL(crl, time.Now()); err != nil {
			return headEndKeys{}, err
		}
	}
	id, signing, hk, err := b.Verify(v, time.Now())
	if err != nil {
		return headEndKeys{}, err
	}
	return headEndKeys{id: id, signing: signing, hpke: hk, origin: b.Origin}, nil
}

// homeMeter is a meter with where its state is saved, and the HEMS behind
// it with the arbitration decisions it took for the demand the meter
// measures.
type homeMeter struct {
	m         *meter.Meter
	name      string
	state     string
	next      time.Time
	hems      gateway.HEMS
	decisions []gateway.Decision
}

type meterFile struct {
	meter.State
	Next time.Time `json:"next"`
}

// startMeters enrols (or reloads) each meter behind this gateway.
func startMeters(ctx context.Context, cfg *config.Config, ks keystore.Keystore, anon, authed *est.Client, root *x509.Certificate,
	log *slog.Logger) ([]*homeMeter, []*credential, error) {
	start := time.Now().UTC().Truncate(metering.Interval)
	var (
		out   []*homeMeter
		creds []*credential
	)
	for i := range cfg.Gateway.Meters {
		name := fmt.Sprintf("%s-meter-%d", cfg.Gateway.Name, i+1)
		cred, err := enrolled(ctx, cfg, ks, anon, fmt.Sprintf("meter-%d", i+1), name,
			func() (string, error) { return authed.MeterToken(ctx, name) })
		if err != nil {
			return nil, nil, fmt.Errorf("meter %d: %w", i+1, err)
		}
		id, err := cred.identity()
		if err != nil {
			return nil, nil, err
		}
		creds = append(creds, cred)
		demand, history, err := traceFor(cfg, i, start)
		if err != nil {
			return nil, nil, err
		}
		hems := hemsFor(cfg, i)
		hems.Home, hems.Log = name, log.With("role", "hems", "lfdi", id.LFDI)
		if hems.Reserve, err = gateway.LearnReserve(history); err != nil {
			return nil, nil, err
		}
		tr, _, decisions, err := hems.Metered(demand)
		if err != nil {
			return nil, nil, err
		}
		hm := &homeMeter{name: name, state: filepath.Join(cfg.DataDir, fmt.Sprintf("meter-%d.state", i+1)), next: start,
			hems: hems, decisions: decisions}
		var saved meterFile
		if b, err := os.ReadFile(hm.state); err == nil {
			if err := json.Unmarshal(b, &saved); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", hm.state, err)
			}
			hm.next = saved.Next
		}
		hm.m = meter.Restore(id.LFDI, cred.key(), tr, saved.State)
		cred.rekeyed = hm.m.Rekey
		out = append(out, hm)
	}
	return out, creds, nil
}

// traceFor is the demand meter i measures from start, and the days before
// it that its HEMS has seen (gateway.hems.history; validation allows them
// only for a synthetic home).
func traceFor(cfg *config.Config, i int, start time.Time) (*household.Trace, []*household.Trace, error) {
	switch cfg.Gateway.Data {
	case "ukdale":
		tr, err := household.UKDALE()
		return tr, nil, err
	case "synthetic":
		home := household.Home(cfg.Gateway.Seed, i, start)
		return home.Generate(), home.History(cfg.Gateway.HEMS.History), nil
	}
	f, err := os.Open(cfg.Gateway.Data)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	tr, err := household.LoadUKDALE(f, cfg.Gateway.Data)
	return tr, nil, err
}

// runMeters closes a register per meter every interval. The register's
// interval advances by 30 minutes each time, so a short interval replays a
// day faster; its state is saved before the reading leaves the meter, so a
// restart never reuses a counter.
func runMeters(ctx context.Context, cfg *config.Config, meters []*homeMeter, gw *gateway.Gateway, log *slog.Logger) {
	t := time.NewTicker(time.Duration(cfg.Gateway.Interval))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, hm := range meters {
			if ctx.Err() != nil {
				return
			}
			r, err := hm.m.Read(hm.next, time.Now())
			if err != nil {
				log.Error("meter read", "err", err)
				continue
			}
			hm.next = hm.next.Add(metering.Interval)
			if err := saveMeter(hm); err != nil {
				log.Error("meter state", "err", err)
				return
			}
			// The reading's counter is spent and saved: it must reach the
			// spool even if shutdown begins now, or its energy is lost.
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), submitTimeout)
			if err := gw.Submit(sctx, r); err != nil {
				log.Error("submit", "meter", r.Register.Meter, "counter", r.Counter, "err", err)
			}
			cancel()
		}
	}
}

const (
	// submitTimeout bounds one Submit (spool write and first publish).
	submitTimeout = 10 * time.Second
	// drainTimeout bounds how long a stopping gateway waits for receipts.
	drainTimeout = 5 * time.Second
)

// drain waits until the spool holds no unacknowledged reading of this
// gateway, or timeout. What is still pending then stays in the spool and is
// retransmitted by the next run: the drain only makes a clean stop leave
// nothing behind in the common case.
func drain(sp *spool.Spool, lfdi string, timeout time.Duration, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	pending := -1
	for {
		if n, err := sp.Pending(ctx, lfdi); err == nil {
			if pending = n; n == 0 {
				return
			}
		}
		select {
		case <-ctx.Done():
			log.Warn("stopping with readings not yet acknowledged; they stay spooled for the next run", "pending", pending)
			return
		case <-t.C:
		}
	}
}

func saveMeter(hm *homeMeter) error {
	b, err := json.Marshal(meterFile{State: hm.m.State(), Next: hm.next})
	if err != nil {
		return err
	}
	return durable.WriteFile(hm.state, b, 0o600)
}

// hemsFor is the home energy manager behind meter i: the configured hiding
// algorithm on the configured battery, planning with the tariff, arbitrated
// by the configured priorities and day plan.
func hemsFor(cfg *config.Config, i int) gateway.HEMS {
	c := cfg.Gateway.HEMS
	h := gateway.HEMS{Battery: cfg.Gateway.Battery.Energy(), Tariff: cfg.Tariff, Seed: household.HomeSeed(cfg.Gateway.Seed, i),
		Priorities: c.Priorities, Planned: c.Planned}
	if cfg.Gateway.Hiding != "none" {
		h.Algorithm, _ = energy.Lookup(cfg.Gateway.Hiding) // validated with the configuration
	}
	h.Plan = c.Plan()
	return h
}

// MeterDecisions is one meter's entry in GET /hems/decisions: the
// arbitration decisions its home's HEMS took for the day it replays.
type MeterDecisions struct {
	Meter     string             `json:"meter"`
	LFDI      string             `json:"lfdi"`
	Decisions []gateway.Decision `json:"decisions"`
}

// gatewayHandler serves the gateway's controls, its stats and its meters'
// HEMS decisions. Every meter's HEMS runs the same configuration, so the
// first one speaks for the controls.
func gatewayHandler(gw *gateway.Gateway, meters []*homeMeter) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /controls", framework.ControlsHandler("gateway", func() []framework.Active {
		return append(gw.Controls(), meters[0].hems.Controls()...)
	}))
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, gw.Stats()) })
	// The decisions are fixed once the meters start: they are taken for the
	// whole trace up front, so serving them needs no lock.
	decisions := make([]MeterDecisions, len(meters))
	for i, hm := range meters {
		decisions[i] = MeterDecisions{Meter: hm.name, LFDI: hm.m.LFDI(), Decisions: hm.decisions}
		if decisions[i].Decisions == nil {
			decisions[i].Decisions = []gateway.Decision{}
		}
	}
	mux.HandleFunc("GET /hems/decisions", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, decisions) })
	return mux
}

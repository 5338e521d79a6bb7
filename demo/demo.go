// Package demo runs USaPP's secure metering path end to end in one process: a
// neighbourhood of homes, each with a meter and a gateway, a CA, an embedded
// NATS JetStream bus and a head-end, on a simulated clock that runs a day in
// seconds. It is what `usapp demo` runs.
//
// Every part is the real one: certificates are enrolled over HTTPS with
// one-time tokens, every gateway connects to the bus over mutually
// authenticated TLS, readings are signed by meters and sealed by gateways,
// spooled durably, ingested, logged and answered with receipts that gateways
// verify. Only the households are simulated: home 0 replays a real UK-DALE
// day, the others are synthetic homes built on the CREST appliance model.
//
// Each home's HEMS hides its load behind the home battery and arbitrates
// (C3.hems-arbitration) between privacy, the tariff's cost bands and, with
// Options.DemandResponse, a utility's daily import cap; the summary counts
// the decisions by winner and loser.
package demo

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/sync/errgroup"

	"github.com/usapp/usapp/billing"
	"github.com/usapp/usapp/comms/envelope"
	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/comms/pki/est"
	"github.com/usapp/usapp/computing/keystore"
	"github.com/usapp/usapp/computing/spool"
	"github.com/usapp/usapp/control/energy"
	"github.com/usapp/usapp/metering"
	"github.com/usapp/usapp/platform/bus"
	"github.com/usapp/usapp/platform/store"
	"github.com/usapp/usapp/roles/ca"
	"github.com/usapp/usapp/roles/gateway"
	"github.com/usapp/usapp/roles/headend"
	"github.com/usapp/usapp/roles/meter"
	"github.com/usapp/usapp/sim/clock"
	"github.com/usapp/usapp/sim/household"
)

// Options of a demo run.
type Options struct {
	Homes    int       // default 20
	Hours    int       // simulated hours, default 24
	Seed     int64     // seeds the synthetic homes
	Out      string    // output directory; its data/ subdirectory is recreated
	Start    time.Time // simulated start, default 2026-06-08 00:00 UTC
	Progress io.Writer // progress bar; nil for none
	Log      *slog.Logger
	Tariff   *billing.Tariff // default billing.DefaultTariff()
	// DrainTimeout bounds the wait for the last receipts (default 60 s).
	DrainTimeout time.Duration
	// Hiding names the load-hiding algorithm every home's HEMS runs
	// (control/energy), "none" for no battery; default "usapp".
	Hiding string
	// Battery is every home's battery; default energy.DefaultBattery().
	Battery *energy.Battery
	// Planned: every home's HEMS schedules its deferrable appliances and
	// tells the hiding algorithm their runs (gateway.HEMS.Planned).
	Planned bool
	// History: every synthetic home's HEMS has run for this many days before
	// the simulated one and keeps charge for the large loads they show
	// (gateway.LearnReserve). 0 to energy.MaxHistoryDays; the UK-DALE home
	// (home 0) has no earlier days and runs without.
	History int
	// DemandResponse caps every home's import during these daily windows
	// (times of day in the tariff's time zone); the HEMS arbitrates them
	// against privacy and cost by energy.DefaultPriorities. Default none.
	DemandResponse []gateway.ImportCap
}

// DefaultStart is the simulated day the demo runs by default: a summer day,
// fixed so that runs are reproducible.
var DefaultStart = time.Date(2026, 6, 8, 0, 0, 0, 0, time.UTC)

// demoPassphrase protects the demo's keystore. It is not a secret: the demo
// shows that keys are encrypted at rest; `usapp serve` takes a real one.
const demoPassphrase = "usapp-demo-passphrase"

func (o *Options) defaults() error {
	if o.Homes == 0 {
		o.Homes = 20
	}
	if o.Hours == 0 {
		o.Hours = 24
	}
	if o.Homes < 1 || o.Homes > 100_000 {
		return fmt.Errorf("demo: homes must be 1..100000, got %d", o.Homes)
	}
	if o.Hours < 1 || o.Hours > 24*31 {
		return fmt.Errorf("demo: hours must be 1..744, got %d", o.Hours)
	}
	if o.Out == "" {
		o.Out = "usapp-out"
	}
	if o.Start.IsZero() {
		o.Start = DefaultStart
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Tariff == nil {
		t := billing.DefaultTariff()
		o.Tariff = &t
	}
	if o.DrainTimeout == 0 {
		o.DrainTimeout = 60 * time.Second
	}
	if o.Hiding == "" {
		o.Hiding = "usapp"
	}
	if o.Hiding != none {
		if _, err := energy.Lookup(o.Hiding); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	if o.History < 0 || o.History > energy.MaxHistoryDays {
		return fmt.Errorf("demo: history must be 0..%d days, got %d", energy.MaxHistoryDays, o.History)
	}
	if o.Battery == nil {
		b := energy.DefaultBattery()
		o.Battery = &b
	}
	for _, c := range o.DemandResponse {
		if err := checkCap(c); err != nil {
			return err
		}
	}
	return o.Battery.Validate()
}

const none = "none"

// hems is the home energy manager of home i.
func (o *Options) hems(i int) gateway.HEMS {
	h := gateway.HEMS{Battery: *o.Battery, Tariff: *o.Tariff, Seed: household.HomeSeed(o.Seed, i),
		Plan: gateway.DayPlan{DemandResponse: o.DemandResponse}, Home: homeName(i), Log: o.Log.With("role", "hems"),
		Planned: o.Planned}
	if o.Hiding != none {
		h.Algorithm, _ = energy.Lookup(o.Hiding) // checked by defaults
	}
	return h
}

// world is everything a run starts, so it can be stopped in order.
type world struct {
	o       Options
	clk     *clock.Sim
	dir     string
	auth    *ca.Authority
	bus     *bus.Server
	store   *store.Store
	spool   *spool.Spool
	he      *headend.HeadEnd
	heConn  *bus.Conn
	homes   []*home
	cancel  context.CancelFunc
	heDone  chan error
	hpkePub *ecdh.PublicKey
	heID    *identity
}

type home struct {
	meter     *meter.Meter
	gw        *gateway.Gateway
	conn      *bus.Conn
	demand    *household.Trace   // what the home consumes, with appliance ground truth
	metered   *household.Trace   // what its meter measures behind the HEMS
	decisions []gateway.Decision // the conflicts its HEMS resolved
}

// Run runs the demo and returns its summary, also written to Out/summary.json.
func Run(ctx context.Context, o Options) (*Summary, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	began := time.Now()
	w := &world{o: o, clk: clock.NewSim(o.Start), dir: filepath.Join(o.Out, "data")}
	defer w.close()
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"set up the CA", w.startCA},
		{"start the bus", w.startBus},
		{"start the head-end", w.startHeadEnd},
		{"enrol the homes", w.enrolHomes},
	}
	for _, s := range steps {
		if err := s.fn(ctx); err != nil {
			return nil, fmt.Errorf("demo: %s: %w", s.name, err)
		}
	}
	simStart := time.Now()
	if err := w.simulate(ctx); err != nil {
		return nil, fmt.Errorf("demo: simulate: %w", err)
	}
	w.drain(ctx)
	sum, err := w.summarize(ctx, began, simStart)
	if err != nil {
		return nil, err
	}
	return sum, sum.WriteJSON(filepath.Join(o.Out, "summary.json"))
}

func (w *world) startCA(ctx context.Context) error {
	if err := os.RemoveAll(w.dir); err != nil {
		return err
	}
	ks, err := keystore.Open(filepath.Join(w.dir, "keys"), []byte(demoPassphrase))
	if err != nil {
		return err
	}
	w.auth, err = ca.Open(ca.Config{Name: "USaPP Demo CA", DataDir: filepath.Join(w.dir, "ca"), Listen: "127.0.0.1:0",
		Hosts: []string{"127.0.0.1", "localhost"}, Clock: w.clk, Log: w.o.Log.With("role", "ca"), State: pki.NewMemState()}, ks)
	if err != nil {
		return err
	}
	srvKey, err := keystore.GenerateEd25519(ks, "ca-tls")
	if err != nil {
		return err
	}
	if err := w.auth.Start(srvKey); err != nil {
		return err
	}
	// The head-end's keys live in the keystore: encrypted at rest (B1).
	heKey, err := keystore.GenerateEd25519(ks, "headend")
	if err != nil {
		return err
	}
	cert, err := w.auth.CA().Issue(pki.RoleHeadEnd, "headend", "", heKey.Public(), w.clk.Now())
	if err != nil {
		return err
	}
	w.heID = &identity{lfdi: pki.LFDI(cert.Raw), cert: cert, key: heKey}
	hpke, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	w.hpkePub = hpke.PublicKey()
	return ks.Put("headend-hpke", hpke)
}

func (w *world) startBus(ctx context.Context) error {
	busID, err := issueService(w.auth.CA(), pki.RoleBus, "bus", []string{"127.0.0.1", "localhost"}, w.clk.Now())
	if err != nil {
		return err
	}
	tcfg := clientTLS(busID, w.auth.CA().Certificate(), w.clk)
	tcfg.ClientCAs, tcfg.RootCAs = tcfg.RootCAs, nil
	tcfg.ClientAuth = tls.RequireAndVerifyClientCert
	w.bus, err = bus.StartServer(bus.ServerConfig{Dir: filepath.Join(w.dir, "jetstream"), Listen: "127.0.0.1:-1",
		TLS: tcfg, Verifier: ca.BusVerifier(w.auth.Verifier()), Now: w.clk.Now, Log: w.o.Log.With("role", "bus")})
	return err
}

func (w *world) startHeadEnd(ctx context.Context) error {
	ks, err := keystore.Open(filepath.Join(w.dir, "keys"), []byte(demoPassphrase))
	if err != nil {
		return err
	}
	k, err := ks.Get("headend-hpke")
	if err != nil {
		return err
	}
	w.store, err = store.Open(ctx, filepath.Join(w.dir, "headend.db"), w.o.Log.With("role", "store"))
	if err != nil {
		return err
	}
	root := w.auth.CA().Certificate()
	resolver := headend.NewResolver(pki.NewVerifier(root), headend.ESTDirectory(estClient(w.auth.URL(), nil, root, w.clk)))
	crl, err := w.auth.CA().CRL(w.clk.Now())
	if err != nil {
		return err
	}
	if err := resolver.SetCRL(crl, w.clk.Now()); err != nil {
		return err
	}
	opener, err := envelope.NewOpener(envelope.OpenerConfig{Key: k.(*ecdh.PrivateKey), Keys: resolver})
	if err != nil {
		return err
	}
	ing, err := headend.NewIngester(ctx, headend.IngesterConfig{Opener: opener, Store: w.store, Resolver: resolver,
		Origin: Origin, Self: w.heID.lfdi, Key: w.heID.key, Log: w.o.Log.With("role", "headend")})
	if err != nil {
		return err
	}
	w.heConn, err = bus.Connect(ctx, bus.ClientConfig{URL: w.bus.ClientURL(), TLS: clientTLS(w.heID, root, w.clk),
		Identity: w.heID.lfdi, Name: "headend", Log: w.o.Log})
	if err != nil {
		return err
	}
	w.he, err = headend.New(headend.Config{Tariff: *w.o.Tariff, Origin: Origin, AckWait: 5 * time.Second}, ing, w.store, w.heConn, w.clk, w.o.Log)
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	w.cancel, w.heDone = cancel, make(chan error, 1)
	go func() { w.heDone <- w.he.Run(runCtx) }()
	select {
	case <-w.he.Ready():
		return nil
	case err := <-w.heDone:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Origin is the transparency log origin of the demo head-end.
const Origin = "demo.usapp.example/headend"

// enrolHomes enrols each home's gateway with a CA token, lets the gateway
// obtain a token for its meter, enrols the meter, and connects the gateway to
// the bus, several homes at a time.
func (w *world) enrolHomes(ctx context.Context) error {
	var err error
	if w.spool, err = spool.Open(filepath.Join(w.dir, "spool.db"), w.o.Log.With("role", "spool")); err != nil {
		return err
	}
	ukdale, err := household.UKDALE()
	if err != nil {
		return err
	}
	w.homes = make([]*home, w.o.Homes)
	root := w.auth.CA().Certificate()
	anon := estClient(w.auth.URL(), nil, root, w.clk)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i := range w.homes {
		g.Go(func() error {
			tr, history := ukdale, []*household.Trace(nil)
			if i > 0 {
				home := household.Home(w.o.Seed, i, w.o.Start)
				tr, history = home.Generate(), home.History(w.o.History)
			}
			h, err := w.enrolHome(gctx, anon, i, tr, history)
			w.homes[i] = h
			return err
		})
	}
	return g.Wait()
}

// enrolHome enrols home i's gateway and meter; the meter measures demand tr
// behind the home's HEMS, which has seen the days of history before it.
func (w *world) enrolHome(ctx context.Context, anon *est.Client, i int, tr *household.Trace, history []*household.Trace) (*home, error) {
	now := w.clk.Now()
	root := w.auth.CA().Certificate()
	name := homeName(i)
	tok, err := w.auth.CA().NewToken(pki.RoleGateway, name+"-gw", "", time.Hour, now)
	if err != nil {
		return nil, err
	}
	gwID, err := enrol(ctx, anon, tok, name+"-gw")
	if err != nil {
		return nil, err
	}
	// The gateway, authenticated by its new certificate, onboards its meter.
	mtok, err := estClient(w.auth.URL(), gwID, root, w.clk).MeterToken(ctx, name+"-meter")
	if err != nil {
		return nil, err
	}
	mID, err := enrol(ctx, anon, mtok, name+"-meter")
	if err != nil {
		return nil, err
	}
	conn, err := bus.Connect(ctx, bus.ClientConfig{URL: w.bus.ClientURL(), TLS: clientTLS(gwID, root, w.clk),
		Identity: gwID.lfdi, Name: name, Log: w.o.Log})
	if err != nil {
		return nil, err
	}
	sess, err := envelope.NewSession(w.hpkePub, gwID.lfdi)
	if err != nil {
		conn.Close()
		return nil, err
	}
	gw, err := gateway.New(gateway.Config{LFDI: gwID.lfdi, Retransmit: 5 * time.Second, Origin: Origin}, conn, w.spool, sess,
		gateway.HeadEndKeys{LFDI: w.heID.lfdi, SigningKey: w.heID.key.Public().(ed25519.PublicKey)}, w.o.Log)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if _, err := gw.Subscribe(); err != nil {
		conn.Close()
		return nil, err
	}
	hems := w.o.hems(i)
	if hems.Reserve, err = gateway.LearnReserve(history); err != nil {
		conn.Close()
		return nil, err
	}
	metered, _, decisions, err := hems.Metered(tr)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return &home{meter: meter.New(mID.lfdi, mID.key, metered, 0), gw: gw, conn: conn, demand: tr, metered: metered,
		decisions: decisions}, nil
}

func homeName(i int) string { return fmt.Sprintf("home-%05d", i) }

// simulate runs the day: at the end of each 30-minute interval every meter
// closes its register and its gateway seals, spools and publishes it.
func (w *world) simulate(ctx context.Context) error {
	intervals := w.o.Hours * int(time.Hour/metering.Interval)
	var bar *progressbar.ProgressBar
	if w.o.Progress != nil {
		bar = progressbar.NewOptions(intervals*len(w.homes), progressbar.OptionSetWriter(w.o.Progress),
			progressbar.OptionSetDescription("readings"), progressbar.OptionShowCount(), progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish())
		defer bar.Finish()
	}
	for k := range intervals {
		start := w.o.Start.Add(time.Duration(k) * metering.Interval)
		w.clk.Set(start.Add(metering.Interval))
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(64)
		for _, h := range w.homes {
			g.Go(func() error {
				r, err := h.meter.Read(start, w.clk.Now())
				if err != nil {
					return err
				}
				if err := h.gw.Submit(gctx, r); err != nil {
					return err
				}
				if bar != nil {
					_ = bar.Add(1)
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
	}
	return nil
}

// drain waits until every reading sent has a verified receipt or a signed
// rejection, retransmitting what is overdue, for at most DrainTimeout.
func (w *world) drain(ctx context.Context) {
	deadline := time.Now().Add(w.o.DrainTimeout)
	nextRetransmit := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		var sent, settled uint64
		for _, h := range w.homes {
			s := h.gw.Stats()
			sent += s.Sent
			settled += s.Accepted + s.Rejected
		}
		if settled >= sent {
			return
		}
		if time.Now().After(nextRetransmit) {
			for _, h := range w.homes {
				if err := h.gw.RetransmitDue(ctx, time.Now()); err != nil {
					w.o.Log.Warn("retransmit", "err", err)
				}
			}
			nextRetransmit = time.Now().Add(5 * time.Second)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (w *world) close() {
	for _, h := range w.homes {
		if h != nil {
			h.conn.Close()
		}
	}
	w.stopHeadEnd()
	if w.bus != nil {
		w.bus.Shutdown()
	}
	if w.auth != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = w.auth.Shutdown(ctx)
		cancel()
	}
	if w.spool != nil {
		_ = w.spool.Close()
	}
}

// stopHeadEnd stops the head-end as a crash would: its consumer stops
// wherever it is, its connection and database handle are dropped. What it
// committed is in the store; what it had not acknowledged stays in the stream.
func (w *world) stopHeadEnd() {
	if w.cancel != nil {
		w.cancel()
		<-w.heDone
		w.cancel = nil
	}
	if w.heConn != nil {
		w.heConn.Close()
		w.heConn = nil
	}
	if w.store != nil {
		_ = w.store.Close()
		w.store = nil
	}
}

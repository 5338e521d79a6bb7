// Package config carries the settings of A1.enrolment, B1.keys-at-rest,
// B3.durable-bus, C2 billing (the tariff), C3.load-hiding and
// C3.hems-arbitration (the gateway's HEMS); it implements no control of its
// own. One YAML file is the only source of truth for `usapp serve ROLE
// --config FILE` and for the demo, and a bad file is refused before a role
// starts, never half applied.
//
// # Pipeline
//
// [Parse] reads the YAML into a node tree (syntax errors are wrapped in
// [ErrSyntax]), renames deprecated keys with a [Warning] each, decodes it
// strictly (an unknown key or a value of the wrong type is a problem, not
// ignored), fills defaults for every key that is absent, and validates. All
// problems are reported together in one [*ValidationError], each with the
// file, line and YAML path, e.g.
//
//	config.yaml:12: store.dsn: unsupported scheme; valid: postgres, postgresql, sqlite, file (or leave empty for SQLite in data_dir)
//
// A default applies only where a key is absent: a key set explicitly to an
// empty or zero value is validated as given, so a typo cannot silently fall
// back to a default.
//
// Strictness is implemented by walking the parsed node tree against the
// struct's yaml tags rather than by yaml.Decoder.KnownFields: the walk reports
// every unknown key and type error with its own line and path, in one pass,
// without parsing the library's error strings.
//
// # Deprecated keys
//
// When a key is renamed, the old name stays accepted for a release: it is
// moved to the new path and reported as a [Warning]. The table of renames
// (renamedKeys, in decode.go) is empty today. Setting both the old and the new key is a
// problem.
//
// # Safety
//
// Input is bounded ([MaxSize]); YAML aliases are followed with a budget on the
// number of nodes visited, so an alias bomb is a problem, not an outage. Bad
// configuration never panics. Validate does no disk or network I/O; only
// [Load] reads the file it is given.
package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/usapp/usapp/billing"
	"github.com/usapp/usapp/control/energy"
	"github.com/usapp/usapp/roles/gateway"
)

// MaxSize is the largest configuration file accepted.
const MaxSize = 1 << 20

// Sentinel errors. Problems with the content are reported as *ValidationError.
var (
	ErrSyntax   = errors.New("config: yaml syntax")
	ErrTooLarge = errors.New("config: file larger than 1 MiB")
)

// Config is the whole configuration of one usapp process.
type Config struct {
	Role     string         `yaml:"role"`     // ca | bus | headend | gateway; empty for the demo
	DataDir  string         `yaml:"data_dir"` // default ./usapp-data
	Log      Log            `yaml:"log"`
	Keystore Keystore       `yaml:"keystore"`
	CA       CA             `yaml:"ca"`
	Bus      Bus            `yaml:"bus"`
	Store    Store          `yaml:"store"`
	HeadEnd  HeadEnd        `yaml:"headend"`
	Gateway  Gateway        `yaml:"gateway"`
	Tariff   billing.Tariff `yaml:"tariff"`

	file  string         // name given to Parse, for problem locations
	lines map[string]int // YAML path -> line, for every key present
}

// Log configures log/slog output.
type Log struct {
	Level  string `yaml:"level"`  // debug | info | warn | error
	Format string `yaml:"format"` // text | json
}

// Keystore locates the encrypted key files and their passphrase.
type Keystore struct {
	Dir            string `yaml:"dir"`             // default <data_dir>/keys
	PassphraseEnv  string `yaml:"passphrase_env"`  // default USAPP_PASSPHRASE
	PassphraseFile string `yaml:"passphrase_file"` // if set, wins over the environment
}

// CA configures the certificate authority (EST over HTTPS) and its clients.
type CA struct {
	Listen    string `yaml:"listen"`     // EST listen address, default 127.0.0.1:8443
	URL       string `yaml:"url"`        // https URL clients enrol at
	RootFile  string `yaml:"root_file"`  // PEM of the CA root, for clients
	TokenFile string `yaml:"token_file"` // one-time enrolment token, for clients
	// GatewayTokens is how many one-time gateway enrolment tokens a CA mints
	// at start into token_file, one a line (default 0).
	GatewayTokens int `yaml:"gateway_tokens"`
	// ServiceTokenFile is where a CA writes, at start, one-time tokens for
	// a head-end and its embedded bus to enrol with it from elsewhere (a
	// head-end whose ca.url names this CA reads them from its token_file),
	// one "role token" pair a line. Empty: none are minted.
	ServiceTokenFile string `yaml:"service_token_file"`
	// DeviceValidity is the life of the certificates a CA issues to
	// gateways and meters (default 8760h, a year; at least 90s). Devices
	// renew in the last fifth of it, with a new key each time.
	DeviceValidity Duration `yaml:"device_validity"`
	// ServiceValidity is the life of the certificates a CA issues to the
	// serving roles: the head-end, its bus and the CA's own HTTPS (default
	// a year; at least 90s). They renew in the last fifth of it, with the
	// same key: gateways hold the head-end's key from its bundle.
	ServiceValidity Duration `yaml:"service_validity"`
	// DSN names the CA's database (tokens, serials, revocations, issued
	// certificates): postgres://... or sqlite:PATH. Empty means SQLite at
	// data_dir/ca/ca.db. A head-end's store may share it.
	DSN string `yaml:"dsn"`
	// CRLRefresh is how often a running CA re-reads its revocations into
	// the verifier its bus uses, and a head-end with ca.url fetches the CA's
	// CRL (0: a minute; otherwise 100ms to 12h). With bus.reverify_every it
	// bounds how long a revoked device stays on the bus.
	CRLRefresh Duration `yaml:"crl_refresh"`
}

// Bus configures NATS.
type Bus struct {
	URL    string `yaml:"url"`    // external NATS; empty means the embedded server
	Listen string `yaml:"listen"` // embedded server's client listen address, default 127.0.0.1:4222
	// ReverifyEvery is how often the embedded server checks the
	// certificates of its connected clients again once its verifier has
	// learnt of a revocation, closing the connections of revoked devices;
	// with an external server (url and system_nkey), how often the head-end
	// sweeps it for them (0: 30s; otherwise 100ms to 1h).
	ReverifyEvery Duration `yaml:"reverify_every"`
	// SystemNkey is the seed file of a user in the external server's
	// system account (url). With it the head-end closes revoked devices'
	// connections there, as the embedded server does; without it an
	// external server keeps them. Only with url.
	SystemNkey string `yaml:"system_nkey"`
	// Callout has the head-end answer the external server's auth callout
	// (url), so that server admits each device as the embedded one does:
	// verified against the CA and its CRL, limited to its role's subjects,
	// and closed when its certificate expires. Only with url.
	Callout BusCallout `yaml:"callout"`
}

// BusCallout names what the head-end needs to answer an external server's
// auth callout (the server's authorization.auth_callout block).
type BusCallout struct {
	Nkey    string `yaml:"nkey"`    // seed file of a user in auth_users, in the callout account
	Issuer  string `yaml:"issuer"`  // seed file of the account key auth_callout names as issuer (SA...)
	Account string `yaml:"account"` // the account devices are placed in, default USAPP
}

// Store configures persistence.
type Store struct {
	DSN string `yaml:"dsn"` // postgres://... or sqlite:PATH; empty means SQLite in data_dir
}

// HeadEnd configures the utility head-end role.
type HeadEnd struct {
	Name    string   `yaml:"name"`     // identity name, default "headend"
	Origin  string   `yaml:"origin"`   // transparency-log origin line, default "usapp.example/headend"
	MaxAge  Duration `yaml:"max_age"`  // oldest message accepted, default 168h (a week of spooling)
	Batch   int      `yaml:"batch"`    // readings per ledger batch, default 512
	HTTP    string   `yaml:"http"`     // listen address for GET /controls etc., default 127.0.0.1:8080
	AckWait Duration `yaml:"ack_wait"` // redelivery delay of unacknowledged bus messages, default 30s
}

// Gateway configures the home gateway role and its meters.
type Gateway struct {
	Name       string   `yaml:"name"`        // identity name of the gateway, default "home"
	Meters     int      `yaml:"meters"`      // meters behind this gateway, default 1
	Seed       int64    `yaml:"seed"`        // default 1
	Data       string   `yaml:"data"`        // "ukdale" | "synthetic" | path to a trace file
	Retransmit Duration `yaml:"retransmit"`  // spool retransmission period, default 30s
	Interval   Duration `yaml:"interval"`    // real time between registers, default 30m (shorter replays a day faster)
	HeadEndURL string   `yaml:"headend_url"` // where the head-end publishes its keys (GET /usapp/v1/headend)
	HTTP       string   `yaml:"http"`        // listen address for GET /controls and /stats, default 127.0.0.1:8081
	Hiding     string   `yaml:"hiding"`      // load-hiding algorithm of the HEMS (control/energy), "none" for no battery; default usapp
	Battery    Battery  `yaml:"battery"`     // the home battery the HEMS drives
	HEMS       HEMS     `yaml:"hems"`        // what besides privacy wants the battery, and who wins
}

// HEMS configures the arbitration of the home energy manager
// (C3.hems-arbitration): the ranking of the parties that want the battery and
// a day plan of demand-response requests, grid emergencies and user
// overrides. Times of day are "HH:MM" in the tariff's time zone, end
// exclusive, "24:00" allowed as an end; a window whose end is not after its
// start wraps past midnight. The plan repeats every day.
type HEMS struct {
	// Priorities ranks, highest first, every source exactly once:
	// grid-emergency, user-override, demand-response, privacy, cost
	// (default in that order).
	Priorities     []energy.Source `yaml:"priorities"`
	DemandResponse []ImportCap     `yaml:"demand_response"` // import caps the utility asked for
	Emergencies    []ImportCap     `yaml:"emergencies"`     // import caps of a grid emergency
	Overrides      []Override      `yaml:"overrides"`       // the user's instructions
	// Planned: the HEMS schedules the home's washing machine, dishwasher and
	// tumble dryer, and tells the hiding algorithm their runs ahead
	// (energy.Run.Planned; only usapp uses them). Default false.
	Planned bool `yaml:"planned"`
	// History: the HEMS has run in the home for this many days before the one
	// the gateway replays, and usapp keeps charge for the large loads they
	// show at each time of day (gateway.HEMS.History). 0 to 31, default 0;
	// needs gateway.data synthetic, as a trace file holds no earlier days.
	History int `yaml:"history"`
}

// ImportCap caps the power the meter reads from From to To.
type ImportCap struct {
	From  string  `yaml:"from"`   // "HH:MM"
	To    string  `yaml:"to"`     // "HH:MM", exclusive
	MaxKW float64 `yaml:"max_kw"` // required: 0 is a valid cap (no import)
}

// Override is a user's instruction from From to To.
type Override struct {
	Kind      string  `yaml:"kind"` // charge-by | battery-off
	From      string  `yaml:"from"`
	To        string  `yaml:"to"`
	TargetSoC float64 `yaml:"target_soc"` // fraction of capacity reached by To; charge-by only
}

// Override kinds, as written in the file.
const (
	OverrideChargeBy   = "charge-by"
	OverrideBatteryOff = "battery-off"
)

// Plan is the day plan as the gateway's HEMS runs it.
func (h HEMS) Plan() gateway.DayPlan {
	var p gateway.DayPlan
	for _, c := range h.DemandResponse {
		p.DemandResponse = append(p.DemandResponse, c.gateway())
	}
	for _, c := range h.Emergencies {
		p.Emergencies = append(p.Emergencies, c.gateway())
	}
	for _, o := range h.Overrides {
		p.Overrides = append(p.Overrides, o.gateway())
	}
	return p
}

func (c ImportCap) gateway() gateway.ImportCap {
	return gateway.ImportCap{From: c.From, To: c.To, MaxKW: c.MaxKW}
}

func (o Override) gateway() gateway.Override {
	return gateway.Override{Kind: o.EnergyKind(), From: o.From, To: o.To, TargetSoC: o.TargetSoC}
}

// EnergyKind is the kind as control/energy knows it, 0 if unknown.
func (o Override) EnergyKind() energy.OverrideKind {
	switch o.Kind {
	case OverrideChargeBy:
		return energy.ChargeBy
	case OverrideBatteryOff:
		return energy.BatteryOff
	}
	return 0
}

// Battery is a home battery (C3.load-hiding).
type Battery struct {
	CapacityKWh         float64 `yaml:"capacity_kwh"`          // default 2
	MaxKW               float64 `yaml:"max_kw"`                // charge and discharge limit, default 3
	RoundTripEfficiency float64 `yaml:"round_trip_efficiency"` // default 0.9
}

// Energy returns the battery as control/energy models it (state-of-charge
// window and start from energy.DefaultBattery).
func (b Battery) Energy() energy.Battery {
	e := energy.DefaultBattery()
	e.CapacityKWh, e.MaxChargeKW, e.MaxDischargeKW, e.RoundTripEfficiency = b.CapacityKWh, b.MaxKW, b.MaxKW, b.RoundTripEfficiency
	return e
}

// Duration is a time.Duration written in YAML as "30s", "2h".
type Duration time.Duration

// UnmarshalYAML reads a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return errors.New("want a duration such as 30s")
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return errors.New("want a duration such as 30s or 2h")
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// String formats like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// Problem is one thing wrong with a configuration.
type Problem struct {
	File string
	Line int // 0 if unknown (the value came from a default or from code)
	Path string
	Msg  string
}

func (p Problem) String() string {
	if p.Path == "" {
		return location(p.File, p.Line) + p.Msg
	}
	return location(p.File, p.Line) + p.Path + ": " + p.Msg
}

// Warning is something accepted that should be changed, such as a
// deprecated key.
type Warning Problem

func (w Warning) String() string { return Problem(w).String() }

func location(file string, line int) string {
	switch {
	case file != "" && line > 0:
		return fmt.Sprintf("%s:%d: ", file, line)
	case file != "":
		return file + ": "
	case line > 0:
		return fmt.Sprintf("line %d: ", line)
	}
	return ""
}

// ValidationError lists every problem found.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	s := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		s[i] = p.String()
	}
	return strings.Join(s, "\n")
}

// Default returns the configuration used when the file sets nothing.
func Default() *Config {
	c := &Config{}
	c.applyDefaults()
	return c
}

// present reports whether a key was given in the file.
func (c *Config) present(path string) bool {
	_, ok := c.lines[path]
	return ok
}

// applyDefaults fills every absent key.
func (c *Config) applyDefaults() {
	def := func(path string, set func()) {
		if !c.present(path) {
			set()
		}
	}
	def("data_dir", func() { c.DataDir = "./usapp-data" })
	def("log.level", func() { c.Log.Level = "info" })
	def("log.format", func() { c.Log.Format = "text" })
	def("keystore.dir", func() { c.Keystore.Dir = filepath.Join(c.DataDir, "keys") })
	def("keystore.passphrase_env", func() { c.Keystore.PassphraseEnv = "USAPP_PASSPHRASE" })
	def("ca.listen", func() { c.CA.Listen = "127.0.0.1:8443" })
	def("bus.listen", func() { c.Bus.Listen = "127.0.0.1:4222" })
	def("bus.callout.account", func() { c.Bus.Callout.Account = "USAPP" })
	def("headend.name", func() { c.HeadEnd.Name = "headend" })
	def("headend.origin", func() { c.HeadEnd.Origin = "usapp.example/headend" })
	def("headend.max_age", func() { c.HeadEnd.MaxAge = Duration(7 * 24 * time.Hour) })
	def("headend.batch", func() { c.HeadEnd.Batch = 512 }) // headend.DefaultBatch
	def("headend.http", func() { c.HeadEnd.HTTP = "127.0.0.1:8080" })
	def("headend.ack_wait", func() { c.HeadEnd.AckWait = Duration(30 * time.Second) })
	def("gateway.name", func() { c.Gateway.Name = "home" })
	def("gateway.meters", func() { c.Gateway.Meters = 1 })
	def("gateway.interval", func() { c.Gateway.Interval = Duration(30 * time.Minute) })
	def("gateway.http", func() { c.Gateway.HTTP = "127.0.0.1:8081" })
	def("gateway.hiding", func() { c.Gateway.Hiding = "usapp" })
	def("gateway.battery.capacity_kwh", func() { c.Gateway.Battery.CapacityKWh = 2 })
	def("gateway.battery.max_kw", func() { c.Gateway.Battery.MaxKW = 3 })
	def("gateway.battery.round_trip_efficiency", func() { c.Gateway.Battery.RoundTripEfficiency = 0.9 })
	def("gateway.seed", func() { c.Gateway.Seed = 1 })
	def("gateway.data", func() { c.Gateway.Data = "ukdale" })
	def("gateway.retransmit", func() { c.Gateway.Retransmit = Duration(30 * time.Second) })
	def("gateway.hems.priorities", func() { c.Gateway.HEMS.Priorities = energy.DefaultPriorities() })
	def("tariff", func() { c.Tariff = billing.DefaultTariff() })
}

// lineOf returns the line of path, or of its nearest ancestor in the file.
func (c *Config) lineOf(path string) int {
	for p := path; p != ""; {
		if l, ok := c.lines[p]; ok {
			return l
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0
}

func (c *Config) problem(path, format string, args ...any) Problem {
	return Problem{File: c.file, Line: c.lineOf(path), Path: path, Msg: fmt.Sprintf(format, args...)}
}

func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		li, lj := ps[i].Line, ps[j].Line
		if li == 0 || lj == 0 {
			return li != 0 && lj == 0
		}
		return li < lj
	})
}

package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/usapp/usapp/billing"
	"github.com/usapp/usapp/control/energy"
	"github.com/usapp/usapp/roles/gateway"
)

// Roles that `usapp serve` runs; an empty role means the all-in-one demo.
var Roles = []string{"ca", "bus", "headend", "gateway"}

var (
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"text", "json"}
	busSchemes = []string{"nats", "tls", "ws", "wss"}
	dsnSchemes = []string{"postgres", "postgresql", "sqlite", "file"}
	envName    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// Bounds on counts, generous but finite.
const (
	maxBatch  = 100_000
	maxHomes  = 1_000_000
	maxMeters = 64
)

// Bounds on ca.device_validity and ca.service_validity (see validity).
const (
	minValidity = 90 * time.Second
	maxValidity = 10 * 365 * 24 * time.Hour
)

// Validate checks the configuration and returns a *ValidationError listing
// every problem, or nil. It does no I/O: files named here are opened by the
// roles that use them.
func (c *Config) Validate() error {
	v := &validation{c: c}
	v.oneOf("role", c.Role, append([]string{""}, Roles...))
	v.nonEmpty("data_dir", c.DataDir)
	v.oneOf("log.level", c.Log.Level, logLevels)
	v.oneOf("log.format", c.Log.Format, logFormats)
	v.nonEmpty("keystore.dir", c.Keystore.Dir)
	if !envName.MatchString(c.Keystore.PassphraseEnv) {
		v.add("keystore.passphrase_env", "want an environment variable name such as USAPP_PASSPHRASE")
	}
	v.hostPort("ca.listen", c.CA.Listen, true)
	v.url("ca.url", c.CA.URL, []string{"https"})
	v.url("bus.url", c.Bus.URL, busSchemes)
	v.hostPort("bus.listen", c.Bus.Listen, false)
	v.dsn("store.dsn", c.Store.DSN)
	v.dsn("ca.dsn", c.CA.DSN)
	v.nonEmpty("headend.name", c.HeadEnd.Name)
	if c.HeadEnd.Origin == "" || strings.ContainsAny(c.HeadEnd.Origin, "\n\r") {
		v.add("headend.origin", "want a non-empty single line")
	}
	v.positive("headend.max_age", int64(c.HeadEnd.MaxAge))
	v.between("headend.batch", int64(c.HeadEnd.Batch), 1, maxBatch)
	v.hostPort("headend.http", c.HeadEnd.HTTP, false)
	v.positive("headend.ack_wait", int64(c.HeadEnd.AckWait))
	v.between("ca.gateway_tokens", int64(c.CA.GatewayTokens), 0, maxHomes)
	v.validity("ca.device_validity", time.Duration(c.CA.DeviceValidity))
	v.validity("ca.service_validity", time.Duration(c.CA.ServiceValidity))
	v.period("ca.crl_refresh", time.Duration(c.CA.CRLRefresh), 12*time.Hour)
	v.period("bus.reverify_every", time.Duration(c.Bus.ReverifyEvery), time.Hour)
	if c.Bus.SystemNkey != "" && c.Bus.URL == "" {
		v.add("bus.system_nkey", "only with bus.url: the embedded server closes revoked devices' connections itself")
	}
	v.callout("bus.callout", c.Bus.Callout, c.Bus.URL)
	v.nonEmpty("gateway.name", c.Gateway.Name)
	v.between("gateway.meters", int64(c.Gateway.Meters), 1, maxMeters)
	v.positive("gateway.interval", int64(c.Gateway.Interval))
	v.url("gateway.headend_url", c.Gateway.HeadEndURL, []string{"http", "https"})
	v.hostPort("gateway.http", c.Gateway.HTTP, false)
	if c.Gateway.Hiding != "none" {
		if _, err := energy.Lookup(c.Gateway.Hiding); err != nil {
			v.add("gateway.hiding", "%v", err)
		}
	}
	v.battery("gateway.battery", c.Gateway.Battery)
	v.hems("gateway.hems", c.Gateway.HEMS, c.Gateway.Battery.Energy())
	v.history("gateway.hems.history", c.Gateway.HEMS.History, c.Gateway.Data)
	v.nonEmpty("gateway.data", c.Gateway.Data)
	v.positive("gateway.retransmit", int64(c.Gateway.Retransmit))
	v.tariff(c.Tariff)
	if len(v.problems) == 0 {
		return nil
	}
	sortProblems(v.problems)
	return &ValidationError{Problems: v.problems}
}

type validation struct {
	c        *Config
	problems []Problem
}

func (v *validation) add(path, format string, args ...any) {
	v.problems = append(v.problems, v.c.problem(path, format, args...))
}

func (v *validation) oneOf(path, val string, valid []string) {
	if !slices.Contains(valid, val) {
		shown := slices.DeleteFunc(slices.Clone(valid), func(s string) bool { return s == "" })
		v.add(path, "unknown value %q; valid: %s", val, strings.Join(shown, ", "))
	}
}

func (v *validation) nonEmpty(path, val string) {
	if val == "" {
		v.add(path, "must not be empty")
	}
}

func (v *validation) positive(path string, val int64) {
	if val <= 0 {
		v.add(path, "must be positive")
	}
}

// validity checks a certificate life: zero (the default) or long enough
// that a certificate is not due for renewal when issued. It is valid from
// pki's 5-minute backdate before issue and due in its last fifth, so a life
// under 75s would be due at once.
func (v *validation) validity(path string, d time.Duration) {
	if d != 0 && (d < minValidity || d > maxValidity) {
		v.add(path, "must be between %v and %v (or 0 for a year)", minValidity, maxValidity)
	}
}

// period checks a duration whose 0 means its default: otherwise from
// minPeriod to most. (A CRL lives CRLValidity, 24h: a refresh must come well
// within it.)
func (v *validation) period(path string, d, most time.Duration) {
	if d != 0 && (d < minPeriod || d > most) {
		v.add(path, "must be between %v and %v (or 0 for the default)", minPeriod, most)
	}
}

// minPeriod is the shortest refresh period: shorter ones only load the CA
// and the bus.
const minPeriod = 100 * time.Millisecond

func (v *validation) between(path string, val, lo, hi int64) {
	if val < lo || val > hi {
		v.add(path, "must be between %d and %d", lo, hi)
	}
}

// hostPort checks a listen address; an empty one is allowed unless required.
func (v *validation) hostPort(path, val string, required bool) {
	if val == "" {
		if required {
			v.add(path, "must not be empty")
		}
		return
	}
	_, port, err := net.SplitHostPort(val)
	if err != nil {
		v.add(path, "want host:port, such as 127.0.0.1:8443")
		return
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		v.add(path, "port must be a number from 0 to 65535")
	}
}

// url checks an optional URL against allowed schemes.
func (v *validation) url(path, val string, schemes []string) {
	if val == "" {
		return
	}
	u, err := url.Parse(val)
	switch {
	case err != nil || u.Host == "":
		v.add(path, "want a URL such as %s://host:port", schemes[0])
	case !slices.Contains(schemes, u.Scheme):
		v.add(path, "unsupported scheme %q; valid: %s", u.Scheme, strings.Join(schemes, ", "))
	}
}

// dsn checks an optional store DSN: a PostgreSQL URL or sqlite:/file: path.
func (v *validation) dsn(path, val string) {
	if val == "" {
		return
	}
	scheme, rest, ok := strings.Cut(val, ":")
	switch {
	case !ok || !slices.Contains(dsnSchemes, scheme):
		v.add(path, "unsupported scheme; valid: %s (or leave empty for SQLite in data_dir)", strings.Join(dsnSchemes, ", "))
	case strings.HasPrefix(scheme, "postgres"):
		if u, err := url.Parse(val); err != nil || u.Host == "" && u.Query().Get("host") == "" {
			v.add(path, "want postgres://user@host:port/db")
		}
	case rest == "":
		v.add(path, "want %s:PATH", scheme)
	}
}

// tariff reports each billing.FieldError under tariff.<field>.
func (v *validation) tariff(t billing.Tariff) {
	err := t.Validate()
	if err == nil {
		return
	}
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		var fe *billing.FieldError
		if errors.As(e, &fe) {
			v.add("tariff."+fe.Field, "%v", fe.Err)
			return
		}
		v.add("tariff", "%v", e)
	}
	walk(err)
}

// batteryKeys maps control/energy's field names to this file's keys.
var batteryKeys = map[string]string{"CapacityKWh": "capacity_kwh", "MaxChargeKW": "max_kw", "MaxDischargeKW": "max_kw",
	"RoundTripEfficiency": "round_trip_efficiency"}

// battery reports each impossible battery parameter at its own key.
// callout checks the auth callout's keys: both seed files or neither, only
// with an external server, and an account name the server can have.
func (v *validation) callout(path string, c BusCallout, url string) {
	if c.Nkey == "" && c.Issuer == "" {
		return
	}
	if url == "" {
		v.add(path, "only with bus.url: the embedded server admits devices itself")
		return
	}
	v.nonEmpty(path+".nkey", c.Nkey)
	v.nonEmpty(path+".issuer", c.Issuer)
	if c.Account == "" || strings.ContainsAny(c.Account, " \t\r\n.*>") {
		v.add(path+".account", "want a NATS account name (no spaces, dots or wildcards)")
	}
}

func (v *validation) battery(path string, b Battery) {
	v.fieldErrors(path, b.Energy().Validate(), func(e error) (string, string, bool) {
		var fe *energy.FieldError
		if errors.As(e, &fe) && batteryKeys[fe.Field] != "" {
			return batteryKeys[fe.Field], fe.Err.Error(), true
		}
		return "", "", false
	})
}

// history checks a HEMS's days of history, which only a synthetic home has.
func (v *validation) history(path string, days int, data string) {
	v.between(path, int64(days), 0, energy.MaxHistoryDays)
	if days > 0 && data != "synthetic" {
		v.add(path, "needs gateway.data synthetic: %q holds no days before the one it replays", data)
	}
}

// hems checks the arbitration section: every source ranked exactly once,
// every window on the clock, every cap and target possible.
func (v *validation) hems(path string, h HEMS, b energy.Battery) {
	v.priorities(path+".priorities", h.Priorities)
	for _, g := range []struct {
		key  string
		caps []ImportCap
	}{{"demand_response", h.DemandResponse}, {"emergencies", h.Emergencies}} {
		for i, c := range g.caps {
			p := fmt.Sprintf("%s.%s[%d]", path, g.key, i)
			if v.c.lines != nil && !v.c.present(p+".max_kw") {
				v.add(p+".max_kw", "required (0 means no import at all)")
			}
			v.planEntry(p, c.gateway().Check())
		}
	}
	for i, o := range h.Overrides {
		p := fmt.Sprintf("%s.overrides[%d]", path, i)
		v.oneOf(p+".kind", o.Kind, []string{OverrideChargeBy, OverrideBatteryOff})
		v.planEntry(p, o.gateway().Check())
		switch o.Kind {
		case OverrideChargeBy:
			if v.c.lines != nil && !v.c.present(p+".target_soc") {
				v.add(p+".target_soc", "required for charge-by")
			} else if !(o.TargetSoC >= b.MinSoC && o.TargetSoC <= b.MaxSoC) {
				v.add(p+".target_soc", "must be between %g and %g (the battery's state-of-charge window)", b.MinSoC, b.MaxSoC)
			}
		case OverrideBatteryOff:
			if v.c.present(p + ".target_soc") {
				v.add(p+".target_soc", "only for charge-by")
			}
		}
	}
}

// priorities reports an unknown or repeated source at its own item and the
// missing ones at the list.
func (v *validation) priorities(path string, prio []energy.Source) {
	all := energy.DefaultPriorities()
	names := make([]string, len(all))
	for i, s := range all {
		names[i] = string(s)
	}
	first := map[energy.Source]int{}
	for i, s := range prio {
		p := fmt.Sprintf("%s[%d]", path, i)
		j, seen := first[s]
		switch {
		case !slices.Contains(all, s):
			v.add(p, "unknown source %q; valid: %s", s, strings.Join(names, ", "))
		case seen:
			v.add(p, "repeated (first at %s[%d]); rank each source once", path, j)
		default:
			first[s] = i
		}
	}
	var missing []string
	for _, s := range all {
		if _, ok := first[s]; !ok {
			missing = append(missing, string(s))
		}
	}
	if len(missing) > 0 {
		v.add(path, "missing %s; rank every source once, highest first", strings.Join(missing, ", "))
	}
}

// planEntry reports each of the gateway's problems with a day-plan entry at
// its key.
func (v *validation) planEntry(path string, err error) {
	v.fieldErrors(path, err, func(e error) (string, string, bool) {
		var fe *gateway.FieldError
		if errors.As(e, &fe) {
			return fe.Field, fe.Problem, true
		}
		return "", "", false
	})
}

// fieldErrors reports each error joined in err once per key: at
// path.<field> when field names one (with its own message), else at path.
func (v *validation) fieldErrors(path string, err error, field func(error) (key, msg string, ok bool)) {
	if err == nil {
		return
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	seen := map[string]bool{}
	for _, e := range errs {
		key, msg := path, e.Error()
		if k, m, ok := field(e); ok {
			key, msg = path+"."+k, m
		}
		if !seen[key] {
			seen[key] = true
			v.add(key, "%s", msg)
		}
	}
}

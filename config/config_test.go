package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/usapp/usapp/billing"
	"github.com/usapp/usapp/control/energy"
)

// The shipped example must load cleanly and document the real defaults.
func TestExampleValidates(t *testing.T) {
	c, warns, err := Load("example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Fatalf("warnings: %v", warns)
	}
	d := Default()
	if c.Role != "headend" || c.DataDir != d.DataDir || c.Log != d.Log || c.Keystore != d.Keystore ||
		c.Bus != d.Bus || c.Store != d.Store || c.HeadEnd != d.HeadEnd || c.CA.Listen != d.CA.Listen {
		t.Fatalf("example disagrees with the defaults:\n%+v\n%+v", c, d)
	}
	ex, def := c.Gateway, d.Gateway
	ex.HeadEndURL = ""
	// The example spells the empty plan out as [].
	if p := &ex.HEMS; len(p.DemandResponse)+len(p.Emergencies)+len(p.Overrides) == 0 {
		p.DemandResponse, p.Emergencies, p.Overrides = nil, nil, nil
	}
	if !reflect.DeepEqual(ex, def) {
		t.Fatalf("gateway: example %+v, default %+v", c.Gateway, d.Gateway)
	}
	if !reflect.DeepEqual(c.Tariff, billing.DefaultTariff()) {
		t.Fatalf("tariff: %+v", c.Tariff)
	}
}

func stripped(c *Config) Config {
	s := *c
	s.file, s.lines = "", nil
	return s
}

func TestEmptyFileIsDefault(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{"", "# only a comment\n", "---\n", "~\n"} {
		c, _, err := Parse([]byte(in), "c.yaml")
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if !reflect.DeepEqual(stripped(c), stripped(Default())) {
			t.Fatalf("%q: %+v", in, c)
		}
	}
	if d := Default(); d.Keystore.Dir != filepath.Join("./usapp-data", "keys") || time.Duration(d.HeadEnd.MaxAge) != 7*24*time.Hour {
		t.Fatalf("defaults %+v", d)
	}
}

type where struct {
	line int
	path string
}

func problemsOf(t *testing.T, err error) []where {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v (%T), want *ValidationError", err, err)
	}
	out := make([]where, len(ve.Problems))
	for i, p := range ve.Problems {
		if p.File != "config.yaml" {
			t.Errorf("problem %v names file %q", p, p.File)
		}
		out[i] = where{p.Line, p.Path}
	}
	return out
}

const badConfig = `role: meter
log:
  level: loud
  colour: red
store:
  dsn: mysql://db
headend:
  batch: many
  max_age: 5 minutes
gateway:
  meters: 0
tariff:
  name: t
  currency: GBP
  bands:
    - name: a
      from: "7:30"
      to: "08:00"
      price_per_kwh: -1
extra: 1
`

func TestEveryProblemReported(t *testing.T) {
	_, _, err := Parse([]byte(badConfig), "config.yaml")
	got := problemsOf(t, err)
	want := []where{
		{1, "role"},
		{3, "log.level"},
		{4, "log.colour"},
		{6, "store.dsn"},
		{8, "headend.batch"},
		{9, "headend.max_age"},
		{11, "gateway.meters"},
		{17, "tariff.bands[0].from"},
		{19, "tariff.bands[0].price_per_kwh"},
		{20, "extra"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("problems\n%v\nwant\n%v\nerror:\n%v", got, want, err)
	}
	first := strings.Split(err.Error(), "\n")
	if first[0] != `config.yaml:1: role: unknown value "meter"; valid: ca, bus, headend, gateway` {
		t.Fatalf("message %q", first[0])
	}
	if !strings.HasPrefix(first[3], "config.yaml:6: store.dsn: ") || strings.Contains(err.Error(), "mysql://db") {
		t.Fatalf("dsn message %q (must not echo the DSN)", first[3])
	}
}

func TestWrongShapes(t *testing.T) {
	in := "log: [a, b]\nrole: {x: 1}\ntariff:\n  bands: none\n  currency: GBP\n  name: t\n[1]: 2\n"
	_, _, err := Parse([]byte(in), "config.yaml")
	want := []where{{1, "log"}, {2, "role"}, {4, "tariff.bands"}, {7, ""}}
	if got := problemsOf(t, err); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v want %v\n%v", got, want, err)
	}
}

func TestValidationProblemsHaveLines(t *testing.T) {
	in := "data_dir: \"\"\nbus:\n  url: http://x:4222\n  listen: localhost\nca:\n  url: https://\nheadend:\n  origin: \"a\\nb\"\n  http: \":99999\"\n"
	_, _, err := Parse([]byte(in), "config.yaml")
	want := []where{{1, "data_dir"}, {3, "bus.url"}, {4, "bus.listen"}, {6, "ca.url"}, {8, "headend.origin"}, {9, "headend.http"}}
	if got := problemsOf(t, err); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v want %v\n%v", got, want, err)
	}
	// A problem in a value that came from a default has no line.
	c := Default()
	c.Log.Level = "verbose"
	var ve *ValidationError
	if !errors.As(c.Validate(), &ve) || len(ve.Problems) != 1 || ve.Problems[0].Line != 0 || ve.Problems[0].String() != `log.level: unknown value "verbose"; valid: debug, info, warn, error` {
		t.Fatalf("%v", ve)
	}
}

func TestExplicitZeroKept(t *testing.T) {
	c, _, err := Parse([]byte("gateway:\n  seed: 0\n  data: synthetic\nstore:\n  dsn: sqlite:/var/lib/usapp/db.sqlite\n"), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Gateway.Seed != 0 || c.Gateway.Meters != 1 || c.Gateway.Data != "synthetic" || c.Store.DSN != "sqlite:/var/lib/usapp/db.sqlite" {
		t.Fatalf("%+v %+v", c.Gateway, c.Store)
	}
	// A partial tariff replaces the default one entirely.
	c, _, err = Parse([]byte("tariff:\n  name: flat\n  currency: EUR\n  default_price_per_kwh: 0.3\n"), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Tariff.Bands) != 0 || c.Tariff.Timezone != "" {
		t.Fatalf("tariff %+v", c.Tariff)
	}
}

func TestSyntaxAndSizeErrors(t *testing.T) {
	for _, in := range []string{"role: [\n", "\tkey: 1\n", "a: *nowhere\n"} {
		if _, _, err := Parse([]byte(in), "c.yaml"); !errors.Is(err, ErrSyntax) {
			t.Errorf("%q: %v, want ErrSyntax", in, err)
		}
	}
	big := make([]byte, MaxSize+1)
	if _, _, err := Parse(big, "c.yaml"); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("big: %v", err)
	}
	path := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(path, append([]byte("# "), big...), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load(path); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Load big: %v", err)
	}
	if _, _, err := Load(filepath.Join(t.TempDir(), "none.yaml")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load missing: %v", err)
	}
	_, _, err := Parse([]byte("role: ca\n---\nrole: bus\n"), "config.yaml")
	if got := problemsOf(t, err); !reflect.DeepEqual(got, []where{{2, ""}}) || err.Error() != "config.yaml:2: a config file holds one YAML document" {
		t.Fatalf("two documents: %v", err)
	}
	_, _, err = Parse([]byte("role: ca\nlog:\n  level: info\nrole: bus\n"), "config.yaml")
	if got := problemsOf(t, err); !reflect.DeepEqual(got, []where{{4, "role"}}) || !strings.Contains(err.Error(), "first at line 1") {
		t.Fatalf("repeated key: %v", err)
	}
}

func TestAliasBomb(t *testing.T) {
	in := `a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
tariff:
  bands: [*f,*f,*f,*f,*f,*f,*f,*f,*f]
`
	start := time.Now()
	_, _, err := Parse([]byte(in), "config.yaml")
	if err == nil {
		t.Fatal("alias bomb accepted")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestDeprecatedKeys(t *testing.T) {
	renames := []rename{
		{Old: "store.url", New: "store.dsn"},
		{Old: "passphrase_env", New: "keystore.passphrase_env"}, // moved into a section that is absent
		{Old: "headend.log_origin", New: "headend.origin"},
	}
	in := "store:\n  url: postgres://u@db:5432/usapp\npassphrase_env: MY_PASS\nheadend:\n  name: he\n"
	c, warns, err := parse([]byte(in), "config.yaml", renames)
	if err != nil {
		t.Fatal(err)
	}
	if c.Store.DSN != "postgres://u@db:5432/usapp" || c.Keystore.PassphraseEnv != "MY_PASS" || c.HeadEnd.Origin != "usapp.example/headend" {
		t.Fatalf("renamed values not applied: %+v %+v", c.Store, c.Keystore)
	}
	if len(warns) != 2 || warns[0].Line != 2 || warns[0].Path != "store.url" || warns[1].Line != 3 ||
		warns[0].String() != "config.yaml:2: store.url: deprecated: renamed to store.dsn; update the file" {
		t.Fatalf("warnings %v", warns)
	}
	// Without the table entry the old key is simply unknown.
	if _, _, err := Parse([]byte(in), "config.yaml"); err == nil {
		t.Fatal("old key accepted without a rename entry")
	}
	// Old and new together are a problem.
	_, _, err = parse([]byte("store:\n  url: sqlite:a\n  dsn: sqlite:b\n"), "config.yaml", renames)
	if got := problemsOf(t, err); !reflect.DeepEqual(got, []where{{2, "store.url"}}) {
		t.Fatalf("%v", err)
	}
}

func TestDurationYAML(t *testing.T) {
	out, err := yaml.Marshal(struct {
		D Duration `yaml:"d"`
	}{Duration(90 * time.Second)})
	if err != nil || string(out) != "d: 1m30s\n" {
		t.Fatalf("%q %v", out, err)
	}
	c, _, err := Parse([]byte("headend:\n  max_age: 1h30m\ngateway:\n  retransmit: 250ms\n"), "c.yaml")
	if err != nil || time.Duration(c.HeadEnd.MaxAge) != 90*time.Minute || time.Duration(c.Gateway.Retransmit) != 250*time.Millisecond {
		t.Fatalf("%v %v", c, err)
	}
	_, _, err = Parse([]byte("headend:\n  max_age: -1s\n"), "config.yaml")
	if got := problemsOf(t, err); !reflect.DeepEqual(got, []where{{2, "headend.max_age"}}) {
		t.Fatalf("%v", err)
	}
}

func FuzzParse(f *testing.F) {
	example, err := os.ReadFile("example.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{string(example), badConfig, "", "role: [", "a: &a [*a]\n", "<<: {role: ca}\n",
		"tariff:\n  bands:\n    - {name: a, from: '23:00', to: '01:00'}\n", "headend: {max_age: 1e9}\n", hemsConfig, badHEMS, "? [a]\n: b\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, _, err := Parse(data, "config.yaml")
		var ve *ValidationError
		switch {
		case err == nil:
			if c == nil || c.Validate() != nil {
				t.Fatal("accepted config does not validate")
			}
		case errors.As(err, &ve):
			if c != nil || len(ve.Problems) == 0 {
				t.Fatalf("validation error with config or no problems: %v", err)
			}
		case errors.Is(err, ErrSyntax), errors.Is(err, ErrTooLarge):
		default:
			t.Fatalf("unexpected error type %T: %v", err, err)
		}
	})
}

func TestGatewayHidingAndBatteryValidated(t *testing.T) {
	_, _, err := Parse([]byte("gateway:\n  hiding: magic\n  battery:\n    capacity_kwh: 2\n    round_trip_efficiency: 2\n"), "config.yaml")
	got := problemsOf(t, err)
	if !reflect.DeepEqual(got, []where{{2, "gateway.hiding"}, {5, "gateway.battery.round_trip_efficiency"}}) {
		t.Fatalf("problems %+v", got)
	}
	c, _, err := Parse([]byte("gateway:\n  hiding: none\n"), "config.yaml")
	if err != nil || c.Gateway.Hiding != "none" || c.Gateway.Battery.Energy().CapacityKWh != 2 {
		t.Fatalf("%+v %v", c, err)
	}
}

const hemsConfig = `gateway:
  data: synthetic
  hems:
    priorities: [grid-emergency, privacy, user-override, demand-response, cost]
    demand_response:
      - {from: "17:00", to: "19:00", max_kw: 1.5}
    emergencies:
      - {from: "22:00", to: "06:00", max_kw: 0}
    overrides:
      - {kind: charge-by, from: "05:00", to: "07:00", target_soc: 0.8}
      - {kind: battery-off, from: "00:00", to: "24:00"}
    planned: true
    history: 7
`

func TestGatewayHEMS(t *testing.T) {
	if d := Default().Gateway.HEMS; !reflect.DeepEqual(d, HEMS{Priorities: energy.DefaultPriorities()}) {
		t.Fatalf("default hems %+v", d)
	}
	c, _, err := Parse([]byte(hemsConfig), "config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	h := c.Gateway.HEMS
	want := HEMS{
		Priorities:     []energy.Source{energy.SourceEmergency, energy.SourcePrivacy, energy.SourceOverride, energy.SourceDemandResponse, energy.SourceCost},
		DemandResponse: []ImportCap{{From: "17:00", To: "19:00", MaxKW: 1.5}},
		Emergencies:    []ImportCap{{From: "22:00", To: "06:00", MaxKW: 0}},
		Overrides:      []Override{{Kind: "charge-by", From: "05:00", To: "07:00", TargetSoC: 0.8}, {Kind: "battery-off", From: "00:00", To: "24:00"}},
		Planned:        true,
		History:        7,
	}
	if !reflect.DeepEqual(h, want) {
		t.Fatalf("hems %+v", h)
	}
	if h.Overrides[0].EnergyKind() != energy.ChargeBy || h.Overrides[1].EnergyKind() != energy.BatteryOff || (Override{Kind: "x"}).EnergyKind() != 0 {
		t.Fatal("override kinds")
	}
}

const badHEMS = `gateway:
  hems:
    priorities:
      - grid-emergency
      - privacy
      - battery-limits
      - privacy
      - cost
    demand_response:
      - {from: "7:00", to: "25:00", max_kw: 1}
      - {from: "17:00", to: "17:00", max_kw: -2}
      - {from: "17:00", to: "18:00"}
    emergencies:
      - {from: "24:00", to: "01:00", max_kw: .nan}
    overrides:
      - {kind: boost, from: "05:00", to: "07:00"}
      - {kind: charge-by, from: "05:00", to: "07:00", target_soc: 0.95}
      - {kind: charge-by, from: "05:00", to: "07:00"}
      - {kind: battery-off, from: "05:00", to: "07:00", target_soc: 0.5}
      - {kind: battery-off, from: "05:00", to: "07:00", colour: red}
    history: 32
`

func TestGatewayHEMSEveryProblemAtItsKey(t *testing.T) {
	_, _, err := Parse([]byte(badHEMS), "config.yaml")
	got := problemsOf(t, err)
	want := []where{
		{3, "gateway.hems.priorities"}, // missing user-override, demand-response
		{6, "gateway.hems.priorities[2]"},
		{7, "gateway.hems.priorities[3]"},
		{10, "gateway.hems.demand_response[0].from"},
		{10, "gateway.hems.demand_response[0].to"},
		{11, "gateway.hems.demand_response[1].to"},
		{11, "gateway.hems.demand_response[1].max_kw"},
		{12, "gateway.hems.demand_response[2].max_kw"},
		{14, "gateway.hems.emergencies[0].from"},
		{14, "gateway.hems.emergencies[0].max_kw"},
		{16, "gateway.hems.overrides[0].kind"},
		{17, "gateway.hems.overrides[1].target_soc"},
		{18, "gateway.hems.overrides[2].target_soc"},
		{19, "gateway.hems.overrides[3].target_soc"},
		{20, "gateway.hems.overrides[4].colour"},
		{21, "gateway.hems.history"}, // above 31, and the UK-DALE day has no history
		{21, "gateway.hems.history"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("problems\n%v\nwant\n%v\nerror:\n%v", got, want, err)
	}
	for _, frag := range []string{`config.yaml:6: gateway.hems.priorities[2]: unknown source "battery-limits"`,
		`config.yaml:21: gateway.hems.history: needs gateway.data synthetic: "ukdale" holds no days before the one it replays`,
		"config.yaml:7: gateway.hems.priorities[3]: repeated (first at gateway.hems.priorities[1])",
		"config.yaml:3: gateway.hems.priorities: missing user-override, demand-response"} {
		if !strings.Contains(err.Error(), frag) {
			t.Errorf("no %q in\n%v", frag, err)
		}
	}
	// An explicit empty ranking is validated as given, not defaulted.
	_, _, err = Parse([]byte("gateway:\n  hems:\n    priorities: []\n"), "config.yaml")
	if got := problemsOf(t, err); !reflect.DeepEqual(got, []where{{3, "gateway.hems.priorities"}}) {
		t.Fatalf("empty priorities: %v", err)
	}
	// Wrong shapes are reported where they are.
	_, _, err = Parse([]byte("gateway:\n  hems:\n    demand_response: {from: a}\n    overrides: [1]\n"), "config.yaml")
	if got := problemsOf(t, err); !reflect.DeepEqual(got, []where{{3, "gateway.hems.demand_response"}, {4, "gateway.hems.overrides[0]"}}) {
		t.Fatalf("shapes: %v", err)
	}
}

// ca.device_validity and ca.service_validity are a year when unset; a life
// so short that a certificate would be due for renewal when issued is a
// problem at its key.
func TestValidity(t *testing.T) {
	c, _, err := Parse([]byte("ca:\n  device_validity: 2m\n  service_validity: 3m\n"), "c.yaml")
	if err != nil || time.Duration(c.CA.DeviceValidity) != 2*time.Minute || time.Duration(c.CA.ServiceValidity) != 3*time.Minute {
		t.Fatalf("%v %v", c, err)
	}
	for _, key := range []string{"device_validity", "service_validity"} {
		for _, bad := range []string{"60s", "-1h", "100000h"} {
			_, _, err := Parse([]byte("ca:\n  "+key+": "+bad+"\n"), "config.yaml")
			if got := problemsOf(t, err); !reflect.DeepEqual(got, []where{{2, "ca." + key}}) {
				t.Fatalf("%s %s: %v", key, bad, err)
			}
		}
	}
}

// ca.dsn is checked as store.dsn is, at its own key.
func TestCADSN(t *testing.T) {
	c, _, err := Parse([]byte("ca:\n  dsn: postgres://ca@db:5432/usapp\n"), "c.yaml")
	if err != nil || c.CA.DSN != "postgres://ca@db:5432/usapp" {
		t.Fatalf("%v %v", c, err)
	}
	_, _, err = Parse([]byte("ca:\n  dsn: mysql://db/x\n"), "config.yaml")
	if got := problemsOf(t, err); !reflect.DeepEqual(got, []where{{2, "ca.dsn"}}) {
		t.Fatalf("problems %v, want ca.dsn at line 2", got)
	}
}

// The two periods that bound how long a revoked device stays on the bus:
// 0 for the default, else within their bounds.
func TestRevocationPeriods(t *testing.T) {
	c, _, err := Parse([]byte("ca:\n  crl_refresh: 5s\nbus:\n  reverify_every: 250ms\n"), "c.yaml")
	if err != nil || time.Duration(c.CA.CRLRefresh) != 5*time.Second || time.Duration(c.Bus.ReverifyEvery) != 250*time.Millisecond {
		t.Fatalf("%+v %+v %v", c.CA, c.Bus, err)
	}
	c, _, err = Parse([]byte("bus:\n  url: tls://nats.example:4222\n  system_nkey: /etc/usapp/sys.nk\n"), "c.yaml")
	if err != nil || c.Bus.SystemNkey != "/etc/usapp/sys.nk" {
		t.Fatalf("system_nkey with url: %q %v", c.Bus.SystemNkey, err)
	}
	c, _, err = Parse([]byte("role: ca\n"), "c.yaml")
	if err != nil || c.CA.CRLRefresh != 0 || c.Bus.ReverifyEvery != 0 {
		t.Fatalf("defaults: %v %v %v", c.CA.CRLRefresh, c.Bus.ReverifyEvery, err)
	}
	for text, want := range map[string][]where{
		"ca:\n  crl_refresh: 10ms\nbus:\n  reverify_every: 2h\n": {{2, "ca.crl_refresh"}, {4, "bus.reverify_every"}},
		"ca:\n  crl_refresh: 13h\n":                              {{2, "ca.crl_refresh"}},
		"bus:\n  reverify_every: -1s\n":                          {{2, "bus.reverify_every"}},
		"bus:\n  system_nkey: sys.nk\n":                          {{2, "bus.system_nkey"}},
	} {
		_, _, err := Parse([]byte(text), "config.yaml")
		if got := problemsOf(t, err); !reflect.DeepEqual(got, want) {
			t.Errorf("%q: problems %v, want %v", text, got, want)
		}
	}
}

// The auth callout's keys: both seed files with an external server, the
// devices' account USAPP unless named; anything else is refused at its key.
func TestBusCallout(t *testing.T) {
	c, _, err := Parse([]byte("bus:\n  url: tls://nats.example:4222\n  callout:\n    nkey: /etc/usapp/callout.nk\n    issuer: /etc/usapp/issuer.nk\n"), "c.yaml")
	if err != nil || c.Bus.Callout != (BusCallout{Nkey: "/etc/usapp/callout.nk", Issuer: "/etc/usapp/issuer.nk", Account: "USAPP"}) {
		t.Fatalf("callout: %+v %v", c.Bus.Callout, err)
	}
	for text, want := range map[string][]where{
		"bus:\n  callout:\n    nkey: c.nk\n    issuer: i.nk\n":                        {{2, "bus.callout"}},
		"bus:\n  url: tls://n:4222\n  callout:\n    nkey: c.nk\n":                     {{3, "bus.callout.issuer"}},
		"bus:\n  url: tls://n:4222\n  callout:\n    issuer: i.nk\n    account: a.b\n": {{3, "bus.callout.nkey"}, {5, "bus.callout.account"}},
	} {
		_, _, err := Parse([]byte(text), "config.yaml")
		if got := problemsOf(t, err); !reflect.DeepEqual(got, want) {
			t.Errorf("%q: problems %v, want %v", text, got, want)
		}
	}
}

// Package billing implements the billing use of C2.spheres-of-control: it turns the 30-minute
// registers a meter sends under its attributable identity (customer data, the
// only sphere the supplier needs for a bill) into time-of-use bills, so the
// supplier never needs finer data to charge correctly.
//
// # Tariffs
//
// A [Tariff] is a set of named bands, each a daily window of local wall-clock
// time ("HH:MM" to "HH:MM", end exclusive, "24:00" allowed as an end, a window
// may wrap past midnight) with a price per kWh; time in no band is charged at
// the default price under the band name "default". Local time is the tariff's
// IANA time zone, so bands follow the clock through daylight-saving changes:
// a 16:00 peak starts at 15:00 UTC in a London summer and 16:00 UTC in winter.
//
// # Bills
//
// A [Biller] spreads each register's energy evenly over its interval; a
// register that straddles a band boundary (or a DST change) is split pro rata
// by duration, in whole Wh, with cumulative rounding so that the pieces add up
// to the register exactly. The cost is Σ band energy × band price plus the
// standing charge for each distinct local day on which a register starts,
// rounded to 0.01 once at the end; any party holding ByBand can recompute it.
//
// Registers may arrive in any order; bills depend only on the set added. The
// caller guarantees each (meter, register) is added once (the head-end
// deduplicates on sender and sequence before billing).
//
// # Concurrency
//
// A Biller is safe for concurrent use. Tariff is a plain value.
package billing

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"
	_ "time/tzdata" // tariffs name IANA zones; meters and containers may lack a zoneinfo database
)

// DefaultBand names energy billed at the tariff's default price.
const DefaultBand = "default"

// Sentinel errors. Validation problems are *FieldError values wrapping these,
// joined with errors.Join.
var (
	ErrTime      = errors.New("billing: want HH:MM between 00:00 and 24:00")
	ErrEmptyBand = errors.New("billing: band is empty")
	ErrOverlap   = errors.New("billing: bands overlap")
	ErrPrice     = errors.New("billing: price must be finite and not negative")
	ErrTimezone  = errors.New("billing: unknown time zone")
	ErrName      = errors.New("billing: missing or repeated name")
	ErrCurrency  = errors.New("billing: currency must be a three-letter ISO 4217 code")
	ErrRegister  = errors.New("billing: invalid register")
	ErrMeter     = errors.New("billing: empty meter id")
)

// FieldError names the tariff field at fault, as a YAML path ("bands[1].from").
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// Band is one time-of-use window.
type Band struct {
	Name        string  `yaml:"name"`
	From        string  `yaml:"from"` // "HH:MM", local time, inclusive
	To          string  `yaml:"to"`   // "HH:MM", local time, exclusive; "24:00" is midnight
	PricePerKWh float64 `yaml:"price_per_kwh"`
}

// Tariff is a time-of-use tariff.
type Tariff struct {
	Name                 string  `yaml:"name"`
	Currency             string  `yaml:"currency"`
	Timezone             string  `yaml:"timezone"` // IANA name; "" means UTC
	StandingChargePerDay float64 `yaml:"standing_charge_per_day"`
	DefaultPricePerKWh   float64 `yaml:"default_price_per_kwh"`
	Bands                []Band  `yaml:"bands"`
}

// DefaultTariff is an Economy-7-like UK time-of-use tariff in GBP: a cheap
// night 00:30-07:30, a dear peak 16:00-19:00 and the default price otherwise,
// in Europe/London time.
func DefaultTariff() Tariff {
	return Tariff{
		Name:                 "usapp-economy7-tou",
		Currency:             "GBP",
		Timezone:             "Europe/London",
		StandingChargePerDay: 0.60,
		DefaultPricePerKWh:   0.28,
		Bands: []Band{
			{Name: "night", From: "00:30", To: "07:30", PricePerKWh: 0.14},
			{Name: "peak", From: "16:00", To: "19:00", PricePerKWh: 0.42},
		},
	}
}

// Validate reports every problem, each a *FieldError naming the field
// (bands[1].from), joined with errors.Join; nil if the tariff is usable.
func (t Tariff) Validate() error {
	_, err := t.compile()
	return err
}

// PriceAt returns the band and price in force at an instant. On a tariff that
// does not validate it skips the bands it cannot read.
func (t Tariff) PriceAt(at time.Time) (band string, pricePerKWh float64) {
	c, _ := t.compile()
	b := c.bandAt(at)
	return c.names[b], c.prices[b]
}

// compiled is a tariff ready for lookups: band i covers [from[i], to[i]) in
// seconds of the local day (to > from; wrapping bands are stored in two
// pieces); index len(bands) is the default band.
type compiled struct {
	loc       *time.Location
	pieces    []piece
	names     []string
	prices    []float64
	standing  float64
	boundSecs []int // sorted distinct piece edges within (0, 86400)
}

type piece struct{ from, to, band int }

// compile checks the tariff and builds the lookup form; on error the result
// still holds every band it could read.
func (t Tariff) compile() (*compiled, error) {
	var errs []error
	bad := func(field string, err error) { errs = append(errs, &FieldError{field, err}) }
	c := &compiled{loc: time.UTC, standing: t.StandingChargePerDay}
	if t.Timezone != "" {
		if loc, err := loadLocation(t.Timezone); err != nil || t.Timezone == "Local" {
			bad("timezone", ErrTimezone)
		} else {
			c.loc = loc
		}
	}
	if t.Name == "" {
		bad("name", ErrName)
	}
	if !isCurrency(t.Currency) {
		bad("currency", ErrCurrency)
	}
	checkPrice := func(field string, v float64) {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			bad(field, ErrPrice)
		}
	}
	checkPrice("standing_charge_per_day", t.StandingChargePerDay)
	checkPrice("default_price_per_kwh", t.DefaultPricePerKWh)

	var owner [24 * 60]int // band index+1 owning each minute, to find overlaps
	seen := map[string]bool{DefaultBand: true}
	for i, b := range t.Bands {
		field := fmt.Sprintf("bands[%d]", i)
		if b.Name == "" || seen[b.Name] {
			bad(field+".name", ErrName)
		}
		seen[b.Name] = true
		checkPrice(field+".price_per_kwh", b.PricePerKWh)
		from, errF := parseHHMM(b.From, false)
		to, errT := parseHHMM(b.To, true)
		if errF != nil {
			bad(field+".from", errF)
		}
		if errT != nil {
			bad(field+".to", errT)
		}
		if errF != nil || errT != nil {
			continue
		}
		if from == to {
			bad(field+".to", ErrEmptyBand)
			continue
		}
		idx := len(c.names)
		c.names, c.prices = append(c.names, b.Name), append(c.prices, b.PricePerKWh)
		if from < to {
			c.pieces = append(c.pieces, piece{from, to, idx})
		} else {
			c.pieces = append(c.pieces, piece{from, 86400, idx}, piece{0, to, idx})
		}
		if other, clash := markMinutes(&owner, from, to, i); clash {
			bad(field, fmt.Errorf("%w: with bands[%d]", ErrOverlap, other))
		}
	}
	c.names, c.prices = append(c.names, DefaultBand), append(c.prices, t.DefaultPricePerKWh)
	c.boundSecs = bounds(c.pieces)
	return c, errors.Join(errs...)
}

// markMinutes records band i over [from, to) (wrapping) and reports the
// first band it overlaps. Bands are whole minutes, so minutes suffice.
func markMinutes(owner *[24 * 60]int, from, to, i int) (other int, clash bool) {
	n := (to/60 - from/60 + 1440) % 1440
	if n == 0 { // 00:00-24:00
		n = 1440
	}
	for k := range n {
		m := (from/60 + k) % 1440
		if o := owner[m]; o != 0 && !clash {
			other, clash = o-1, true
		}
		owner[m] = i + 1
	}
	return other, clash
}

func bounds(ps []piece) []int {
	set := map[int]bool{}
	for _, p := range ps {
		for _, s := range []int{p.from, p.to} {
			if s > 0 && s < 86400 {
				set[s] = true
			}
		}
	}
	out := make([]int, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Ints(out)
	return out
}

// ParseClock reads a time of day "HH:MM", 00:00 to 23:59 (and "24:00" when
// end is set, for a window that runs to midnight), as the time since
// midnight. It is the one clock syntax of tariffs and HEMS day plans. Errors
// are ErrTime.
func ParseClock(s string, end bool) (time.Duration, error) {
	if len(s) != 5 || s[2] != ':' || !isDigits(s[:2]) || !isDigits(s[3:]) {
		return 0, ErrTime
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if m > 59 || h > 24 || h == 24 && (m != 0 || !end) {
		return 0, ErrTime
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, nil
}

// parseHHMM is ParseClock in seconds, the unit of compiled tariffs.
func parseHHMM(s string, end bool) (int, error) {
	d, err := ParseClock(s, end)
	return int(d / time.Second), err
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func isCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// secOfDay is the local wall-clock time of day in seconds, with fraction.
func secOfDay(local time.Time) float64 {
	h, m, s := local.Clock()
	return float64(h*3600+m*60+s) + float64(local.Nanosecond())/1e9
}

// bandAt returns the index of the band in force at an instant.
func (c *compiled) bandAt(at time.Time) int {
	sod := secOfDay(at.In(c.loc))
	for _, p := range c.pieces {
		if sod >= float64(p.from) && sod < float64(p.to) {
			return p.band
		}
	}
	return len(c.names) - 1
}

// nextChange returns the first instant after at when the band in force may
// change: a band edge or midnight in local time, or a UTC offset change.
func (c *compiled) nextChange(at time.Time) time.Time {
	local := at.In(c.loc)
	y, mo, d := local.Date()
	next := time.Date(y, mo, d+1, 0, 0, 0, 0, c.loc)
	for _, s := range c.boundSecs {
		if e := time.Date(y, mo, d, 0, 0, s, 0, c.loc); e.After(at) && e.Before(next) {
			next = e
		}
	}
	if _, zoneEnd := local.ZoneBounds(); !zoneEnd.IsZero() && zoneEnd.After(at) && zoneEnd.Before(next) {
		next = zoneEnd
	}
	if !next.After(at) { // a day that the zone makes degenerate; never stall
		next = at.Add(time.Minute)
	}
	return next
}

// Schedule is the price of each of n steps of length step from start: the
// day-ahead price signal a home energy manager plans with. The tariff is
// compiled once for the whole schedule.
func (t Tariff) Schedule(start time.Time, step time.Duration, n int) []float64 {
	c, _ := t.compile()
	out := make([]float64, n)
	for i := range out {
		out[i] = c.prices[c.bandAt(start.Add(time.Duration(i)*step))]
	}
	return out
}

// Location is the tariff's time zone, from a process-wide cache.
func (t Tariff) Location() (*time.Location, error) { return loadLocation(t.Timezone) }

// locations caches time zones by name: time.LoadLocation reads the zone
// database on every call, and every PriceAt compiles its tariff.
var locations sync.Map // string -> *time.Location

func loadLocation(name string) (*time.Location, error) {
	if loc, ok := locations.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	locations.Store(name, loc)
	return loc, nil
}

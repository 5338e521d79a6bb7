package household

import (
	"bufio"
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Bounds on hostile input: a line longer than maxLine or a trace longer than
// maxSamples (eight years of 1-minute samples) is rejected, not buffered.
const (
	maxLine    = 64 << 10
	maxSamples = 1 << 22
)

// Unit plausibility thresholds. A house whose mains never reach kWLike watts
// over a whole file almost certainly was written in kW; one that draws more
// than maxHouseW was written in W (or mW) where kW or W was expected.
const (
	kWLike    = 25.0
	maxHouseW = 100_000.0
)

//go:embed testdata/ukdale_house2_2013-06-08_2min_W.csv
var ukdaleDay []byte

// UKDALE returns the embedded day of UK-DALE house 2: 720 samples of 2 minutes
// from 2013-06-07 23:00 UTC, 18 appliance channels and the measured mains.
// Each call returns a fresh copy the caller may modify.
//
// Data: Kelly, J. and Knottenbelt, W., "The UK-DALE dataset, domestic
// appliance-level electricity demand and whole-house demand from five UK
// homes", Scientific Data 2, 150007 (2015), CC BY 4.0.
func UKDALE() (*Trace, error) {
	return LoadUKDALE(bytes.NewReader(ukdaleDay), "ukdale_house2_2013-06-08_2min_W.csv")
}

// LoadUKDALE reads the comma-separated layout of the UK-DALE excerpts: a
// header "unix_ts,<appliance>...,mains[,synthetic_mains]" then one row per
// sample, power in watts. The step is taken from the first two timestamps and
// every later one must follow it exactly. "synthetic_mains" (the sum of the
// appliance channels) is dropped as redundant; "mains" becomes Trace.Mains and
// every other column an appliance. Errors are [*ParseError] values naming
// name, the line and the column.
func LoadUKDALE(r io.Reader, name string) (*Trace, error) {
	lr := newLineReader(r, name)
	var (
		cols     []string
		mainsCol int
		tr       = &Trace{Name: name, Appliances: map[string][]float64{}}
		clock    stepper
	)
	err := lr.table(",", func(h []string) (err error) {
		cols = h
		mainsCol, err = checkUKDALEHeader(cols)
		return err
	}, func(fields []string) error {
		ts, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return &ParseError{Field: cols[0], Err: fmt.Errorf("%w: not an integer unix time", ErrMalformed)}
		}
		if err := clock.add(ts); err != nil {
			return &ParseError{Field: cols[0], Err: err}
		}
		for i := 1; i < len(cols); i++ {
			v, err := parseWatts(fields[i])
			if err != nil {
				return &ParseError{Field: cols[i], Err: err}
			}
			switch {
			case cols[i] == "synthetic_mains":
			case i == mainsCol:
				if v > maxHouseW {
					return &ParseError{Field: cols[i], Err: fmt.Errorf("%w: implausibly large for watts", ErrUnits)}
				}
				tr.Mains = append(tr.Mains, v)
			default:
				tr.Appliances[cols[i]] = append(tr.Appliances[cols[i]], v)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := clock.finish(); err != nil {
		return nil, lr.fail(lr.line, "", err)
	}
	if peak(tr.Mains) < kWLike {
		return nil, lr.fail(2, cols[mainsCol], fmt.Errorf("%w: mains never reach %v W; values look like kW", ErrUnits, kWLike))
	}
	tr.Start, tr.Step = clock.start(), clock.duration()
	return tr, nil
}

func checkUKDALEHeader(cols []string) (mainsCol int, err error) {
	if cols[0] != "unix_ts" {
		return 0, fmt.Errorf("%w: first column must be unix_ts", ErrHeader)
	}
	seen := make(map[string]bool, len(cols))
	for i, c := range cols {
		if c == "" || seen[c] {
			return 0, fmt.Errorf("%w: empty or repeated column %d", ErrHeader, i+1)
		}
		seen[c] = true
		if c == "mains" {
			mainsCol = i
		}
	}
	if mainsCol == 0 {
		return 0, fmt.Errorf("%w: no mains column", ErrHeader)
	}
	return mainsCol, nil
}

// UCI sub-meter channels, renamed after what the dataset says they measure.
var uciSubMeters = [...]struct{ col, name string }{
	{"Sub_metering_1", "kitchen"},
	{"Sub_metering_2", "laundry_fridge"},
	{"Sub_metering_3", "water_heater_ac"},
}

// LoadUCI reads the ';'-separated layout of the UCI "Individual household
// electric power consumption" data set (Hebrail and Berard): Date (d/m/yyyy),
// Time (hh:mm:ss), Global_active_power in kW (converted to W), and three
// sub-meters in Wh per sample (converted to mean W and kept as the appliances
// "kitchen", "laundry_fridge" and "water_heater_ac"). Other columns are
// ignored.
//
// The file carries no time zone, so its wall-clock times are read as UTC.
// The data set marks missing samples with '?'; we reject them with their line
// number instead of inventing data: cut the file around the gap, or fill it
// deliberately before loading.
func LoadUCI(r io.Reader, name string) (*Trace, error) {
	lr := newLineReader(r, name)
	var (
		cols  []string
		idx   uciIndex
		tr    = &Trace{Name: name, Appliances: make(map[string][]float64, len(uciSubMeters))}
		clock stepper
	)
	err := lr.table(";", func(h []string) (err error) {
		cols = h
		idx, err = uciColumns(cols)
		return err
	}, func(fields []string) error {
		return uciRow(tr, &clock, cols, idx, fields)
	})
	if err != nil {
		return nil, err
	}
	if err := clock.finish(); err != nil {
		return nil, lr.fail(lr.line, "", err)
	}
	tr.Start, tr.Step = clock.start(), clock.duration()
	// Sub-meters count Wh per sample; mean power is that over the step.
	perStep := 3600 / tr.Step.Seconds()
	for _, s := range tr.Appliances {
		for i := range s {
			s[i] *= perStep
		}
	}
	return tr, nil
}

// uciIndex holds column positions: date, time, active power, sub-meters.
type uciIndex struct {
	date, time, power int
	sub               [3]int
}

func uciColumns(cols []string) (uciIndex, error) {
	pos := make(map[string]int, len(cols))
	for i, c := range cols {
		pos[c] = i
	}
	var idx uciIndex
	var missing []string
	get := func(c string) int {
		i, ok := pos[c]
		if !ok {
			missing = append(missing, c)
		}
		return i
	}
	idx.date, idx.time, idx.power = get("Date"), get("Time"), get("Global_active_power")
	for k, s := range uciSubMeters {
		idx.sub[k] = get(s.col)
	}
	if len(missing) > 0 {
		return idx, fmt.Errorf("%w: missing columns %s", ErrHeader, strings.Join(missing, ", "))
	}
	return idx, nil
}

// uciRow parses one row into tr; a returned *ParseError carries only Field and Err.
func uciRow(tr *Trace, clock *stepper, cols []string, idx uciIndex, f []string) error {
	for _, i := range append([]int{idx.date, idx.time, idx.power}, idx.sub[:]...) {
		if strings.TrimSpace(f[i]) == "?" {
			return &ParseError{Field: cols[i], Err: ErrMissing}
		}
	}
	at, err := uciTime(f[idx.date], f[idx.time])
	if err != nil {
		return &ParseError{Field: cols[idx.date], Err: err}
	}
	if err := clock.add(at.Unix()); err != nil {
		return &ParseError{Field: cols[idx.time], Err: err}
	}
	kw, err := parseWatts(f[idx.power])
	if err != nil {
		return &ParseError{Field: cols[idx.power], Err: err}
	}
	if kw > maxHouseW/1000 {
		return &ParseError{Field: cols[idx.power], Err: fmt.Errorf("%w: implausibly large for kW; values look like W", ErrUnits)}
	}
	tr.Mains = append(tr.Mains, kw*1000)
	for k, s := range uciSubMeters {
		wh, err := parseWatts(f[idx.sub[k]])
		if err != nil {
			return &ParseError{Field: cols[idx.sub[k]], Err: err}
		}
		tr.Appliances[s.name] = append(tr.Appliances[s.name], wh)
	}
	return nil
}

// uciTime parses "d/m/yyyy" and "hh:mm:ss" as a UTC wall-clock time,
// rejecting dates that time.Date would silently normalise (31/2).
func uciTime(date, clock string) (time.Time, error) {
	d := strings.Split(date, "/")
	c := strings.Split(clock, ":")
	if len(d) != 3 || len(c) != 3 {
		return time.Time{}, fmt.Errorf("%w: want d/m/yyyy and hh:mm:ss", ErrMalformed)
	}
	var n [6]int
	for i, s := range append(d, c...) {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 || v > 9999 {
			return time.Time{}, fmt.Errorf("%w: want d/m/yyyy and hh:mm:ss", ErrMalformed)
		}
		n[i] = v
	}
	t := time.Date(n[2], time.Month(n[1]), n[0], n[3], n[4], n[5], 0, time.UTC)
	if t.Day() != n[0] || int(t.Month()) != n[1] || t.Year() != n[2] || t.Hour() != n[3] || t.Minute() != n[4] || t.Second() != n[5] {
		return time.Time{}, fmt.Errorf("%w: no such date or time", ErrMalformed)
	}
	return t, nil
}

func parseWatts(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, fmt.Errorf("%w: not a number", ErrMalformed)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0, ErrBadValue
	}
	return v, nil
}

func peak(s []float64) float64 {
	m := 0.0
	for _, v := range s {
		m = max(m, v)
	}
	return m
}

// stepper checks that timestamps (unix seconds) advance by one fixed step.
type stepper struct {
	first, prev, step int64
	n                 int
}

func (s *stepper) add(ts int64) error {
	switch {
	case s.n >= maxSamples:
		return ErrTooLong
	case s.n == 0:
		s.first = ts
	case ts <= s.prev:
		return ErrNonMonotonic
	case s.n == 1:
		if ts-s.prev > int64(24*time.Hour/time.Second) {
			return fmt.Errorf("%w: first step longer than a day", ErrGap)
		}
		s.step = ts - s.prev
	case ts-s.prev != s.step:
		return fmt.Errorf("%w: step changes from the first one", ErrGap)
	}
	s.prev = ts
	s.n++
	return nil
}

func (s *stepper) finish() error {
	if s.n < 2 {
		return ErrTooShort
	}
	return nil
}

func (s *stepper) start() time.Time { return time.Unix(s.first, 0).UTC() }

func (s *stepper) duration() time.Duration { return time.Duration(s.step) * time.Second }

// lineReader yields lines with their 1-based numbers and turns read errors
// into *ParseError values.
type lineReader struct {
	sc    *bufio.Scanner
	file  string
	line  int
	rdErr error
}

func newLineReader(r io.Reader, file string) *lineReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	return &lineReader{sc: sc, file: file}
}

func (lr *lineReader) next() (string, bool) {
	if !lr.sc.Scan() {
		return "", false
	}
	lr.line++
	return strings.TrimSuffix(lr.sc.Text(), "\r"), true
}

func (lr *lineReader) err() error {
	if err := lr.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return lr.fail(lr.line+1, "", fmt.Errorf("%w: line longer than %d bytes", ErrMalformed, maxLine))
		}
		return lr.fail(lr.line+1, "", fmt.Errorf("household: read: %w", err))
	}
	return nil
}

func (lr *lineReader) fail(line int, field string, err error) *ParseError {
	return &ParseError{File: lr.file, Line: line, Field: field, Err: err}
}

// table reads a file of sep-separated fields: the header line, checked by
// header, then every row, which must have as many fields as the header and is
// handed to row. A problem is reported at its line; a *ParseError from row
// also names its field.
func (lr *lineReader) table(sep string, header func(cols []string) error, row func(fields []string) error) error {
	h, ok := lr.next()
	if !ok {
		if err := lr.err(); err != nil {
			return err
		}
		return lr.fail(1, "", ErrTooShort)
	}
	cols := strings.Split(h, sep)
	if err := header(cols); err != nil {
		return lr.fail(1, "", err)
	}
	for line, ok := lr.next(); ok; line, ok = lr.next() {
		fields := strings.Split(line, sep)
		if len(fields) != len(cols) {
			return lr.fail(lr.line, "", fmt.Errorf("%w: want %d fields, got %d", ErrMalformed, len(cols), len(fields)))
		}
		if err := row(fields); err != nil {
			var pe *ParseError
			if errors.As(err, &pe) {
				return lr.fail(lr.line, pe.Field, pe.Err)
			}
			return lr.fail(lr.line, "", err)
		}
	}
	return lr.err()
}

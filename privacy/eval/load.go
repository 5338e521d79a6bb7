package eval

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/usapp/usapp/control/energy"
	"github.com/usapp/usapp/sim/household"
)

// Built-in data sources, the values of the command's --data besides a file.
const (
	SourceUKDALE    = "ukdale"
	SourceSynthetic = "synthetic"
)

// SyntheticStart is the first instant of a built-in synthetic day: a Monday
// in June, midnight UTC, so the day's local evening peak falls in the trace.
var SyntheticStart = time.Date(2026, 6, 8, 0, 0, 0, 0, time.UTC)

// ErrFormat means a data file is neither the UK-DALE nor the UCI layout.
var ErrFormat = errors.New("eval: unknown data format (want a UK-DALE CSV with a unix_ts header or the UCI ';' layout with a Date;Time header)")

// Builtin returns a built-in trace: the embedded UK-DALE day (2-minute
// samples) or a synthetic day (1-minute samples from SyntheticStart) drawn
// from seed. ok is false for any other name.
func Builtin(name string, seed int64) (tr *household.Trace, ok bool, err error) {
	switch name {
	case SourceUKDALE:
		tr, err = household.UKDALE()
		return tr, true, err
	case SourceSynthetic:
		return syntheticHome(seed).Generate(), true, nil
	}
	return nil, false, nil
}

// syntheticHome is synthetic home seed's reference day: 24 h of 1-minute
// samples from SyntheticStart.
func syntheticHome(seed int64) household.Synthetic {
	return household.Synthetic{Seed: seed, Start: SyntheticStart, Step: time.Minute, Duration: 24 * time.Hour}
}

// HistoryReserve is Options.Reserve for synthetic home seed's reference
// day, as a HEMS that has seen the home's previous days (Day −1 … −days)
// learns it (energy.ReserveFromHistory).
func HistoryReserve(seed int64, days int) ([]float64, error) {
	if days < 1 || days > energy.MaxHistoryDays {
		return nil, fmt.Errorf("%w: %d days of history (1-%d)", ErrOptions, days, energy.MaxHistoryDays)
	}
	history := syntheticHome(seed).History(days)
	mains := make([][]float64, len(history))
	for d, day := range history {
		mains[d] = day.Mains
	}
	return energy.ReserveFromHistory(mains, history[0].Step)
}

// LoadTrace reads a data file in either supported layout, chosen from its
// header line: "unix_ts,..." is UK-DALE (household.LoadUKDALE), "Date;Time;..."
// is UCI (household.LoadUCI). Parse errors are *household.ParseError values
// naming name, the line and the column. The trace is returned as recorded,
// whatever its length (the UCI excerpt is 37 h of 1-minute samples); the
// metrics are per sample, so a longer trace is simply a longer evaluation.
func LoadTrace(r io.Reader, name string) (*household.Trace, error) {
	br := bufio.NewReader(r)
	head, err := br.Peek(64)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, &household.ParseError{File: name, Line: 1, Err: err}
	}
	h := string(head)
	if bom := "\ufeff"; strings.HasPrefix(h, bom) { // spreadsheet exports often start with one
		h = h[len(bom):]
		_, _ = br.Discard(len(bom))
	}
	switch {
	case strings.HasPrefix(h, "unix_ts,"):
		return household.LoadUKDALE(br, name)
	case strings.HasPrefix(h, "Date;Time;"):
		return household.LoadUCI(br, name)
	}
	return nil, &household.ParseError{File: name, Line: 1, Err: ErrFormat}
}

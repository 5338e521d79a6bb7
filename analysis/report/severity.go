package report

import (
	"errors"
	"fmt"
)

// ErrNoReport is returned when a renderer is given a nil report.
var ErrNoReport = errors.New("report: no report")

// ErrSeverity is returned by ParseSeverity for an unknown level.
var ErrSeverity = errors.New("report: unknown severity")

// Severity bands a risk score (likelihood × impact, 1–25). The thresholds
// follow the usual 5×5 risk matrix: high from 15, medium from 8, low from 1,
// none below 1.
type Severity int

// The severity bands, lowest first so they compare with <.
const (
	None Severity = iota
	Low
	Medium
	High
)

// Band thresholds on a risk score.
const (
	HighFrom   = 15.0
	MediumFrom = 8.0
	LowFrom    = 1.0
)

// SeverityOf bands a risk score.
func SeverityOf(risk float64) Severity {
	switch {
	case risk >= HighFrom:
		return High
	case risk >= MediumFrom:
		return Medium
	case risk >= LowFrom:
		return Low
	}
	return None
}

func (s Severity) String() string {
	switch s {
	case High:
		return "high"
	case Medium:
		return "medium"
	case Low:
		return "low"
	}
	return "none"
}

// ParseSeverity reads "high", "medium" or "low".
func ParseSeverity(s string) (Severity, error) {
	for _, v := range []Severity{High, Medium, Low} {
		if v.String() == s {
			return v, nil
		}
	}
	return None, fmt.Errorf("%w %q; valid: high, medium, low", ErrSeverity, s)
}

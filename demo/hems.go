package demo

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/usapp/usapp/roles/gateway"
)

// ErrDemandResponse reports a demand-response window the demo cannot read.
var ErrDemandResponse = errors.New("demo: bad demand-response window")

// ParseDemandResponse reads a daily demand-response window written
// FROM-TO=KW, such as "17:00-19:00=1.5": cap every home's import at 1.5 kW
// from 17:00 to 19:00 in the tariff's time zone (TO exclusive, "24:00"
// allowed, a window ending before it starts wraps past midnight).
func ParseDemandResponse(s string) (gateway.ImportCap, error) {
	win, kw, ok := strings.Cut(s, "=")
	from, to, ok2 := strings.Cut(win, "-")
	if !ok || !ok2 {
		return gateway.ImportCap{}, fmt.Errorf("%w: %q: want FROM-TO=KW, such as 17:00-19:00=1.5", ErrDemandResponse, s)
	}
	v, err := strconv.ParseFloat(kw, 64)
	if err != nil {
		return gateway.ImportCap{}, fmt.Errorf("%w: %q: the cap after = must be a number of kW", ErrDemandResponse, s)
	}
	c := gateway.ImportCap{From: from, To: to, MaxKW: v}
	return c, checkCap(c)
}

// FormatDemandResponse writes c as ParseDemandResponse reads it.
func FormatDemandResponse(c gateway.ImportCap) string {
	return fmt.Sprintf("%s-%s=%g", c.From, c.To, c.MaxKW)
}

func checkCap(c gateway.ImportCap) error {
	if err := c.Check(); err != nil {
		// One line for the command line: the joined problems, separated.
		return fmt.Errorf("%w: %q: %s", ErrDemandResponse, FormatDemandResponse(c), strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return nil
}

// HEMSSummary counts the conflicts the homes' HEMS resolved
// (C3.hems-arbitration), by the source that won and the one that lost. A
// decision spans consecutive steps of one home with the same conflict.
type HEMSSummary struct {
	DemandResponse []string       `json:"demand_response"` // the windows, FROM-TO=KW
	Decisions      int            `json:"decisions"`
	ByWinner       map[string]int `json:"by_winner"`
	ByLoser        map[string]int `json:"by_loser"`
}

func (w *world) hemsSummary() *HEMSSummary {
	s := &HEMSSummary{DemandResponse: []string{}, ByWinner: map[string]int{}, ByLoser: map[string]int{}}
	for _, c := range w.o.DemandResponse {
		s.DemandResponse = append(s.DemandResponse, FormatDemandResponse(c))
	}
	for _, h := range w.homes {
		for _, d := range h.decisions {
			s.Decisions++
			s.ByWinner[string(d.Winner)]++
			s.ByLoser[string(d.Loser)]++
		}
	}
	return s
}

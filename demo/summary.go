package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/usapp/usapp/roles/headend"
)

// Summary is what a demo run reports; its JSON form (summary.json) is a
// public contract, version 1.
type Summary struct {
	Version  int   `json:"version"`
	Homes    int   `json:"homes"`
	Hours    int   `json:"hours"`
	Seed     int64 `json:"seed"`
	Readings struct {
		Sent            uint64 `json:"sent"`
		Accepted        uint64 `json:"accepted"`
		Rejected        uint64 `json:"rejected"`
		Lost            uint64 `json:"lost"`
		Retransmissions uint64 `json:"retransmissions"`
	} `json:"readings"`
	Bills      int     `json:"bills"`
	EnergyKWh  float64 `json:"energy_kwh"`
	BilledCost float64 `json:"billed_cost"`
	Currency   string  `json:"currency"`
	Integrity  struct {
		CheckpointsVerified uint64 `json:"checkpoints_verified"`
		Mismatches          uint64 `json:"mismatches"`
		Deferred            uint64 `json:"deferred"` // answers not yet provably consistent; settled by retransmission
		LogSize             int64  `json:"log_size"`
	} `json:"integrity"`
	Privacy           *PrivacySummary   `json:"privacy"`
	HEMS              *HEMSSummary      `json:"hems"`
	HeadEnd           headend.Stats     `json:"headend"`
	BusRefusals       map[string]uint64 `json:"bus_refusals"`
	ElapsedSeconds    float64           `json:"elapsed_seconds"`
	SimulationSeconds float64           `json:"simulation_seconds"`
	ReadingsPerSecond float64           `json:"readings_per_second"`
}

func (w *world) summarize(ctx context.Context, began, simStart time.Time) (*Summary, error) {
	s := &Summary{Version: 1, Homes: w.o.Homes, Hours: w.o.Hours, Seed: w.o.Seed, Currency: w.o.Tariff.Currency}
	for _, h := range w.homes {
		st := h.gw.Stats()
		s.Readings.Sent += st.Sent
		s.Readings.Accepted += st.Accepted
		s.Readings.Rejected += st.Rejected
		s.Readings.Retransmissions += st.Retransmissions
		s.Integrity.CheckpointsVerified += st.CheckpointsVerified
		s.Integrity.Mismatches += st.Mismatches
		s.Integrity.Deferred += st.Deferred
	}
	s.Readings.Lost = s.Readings.Sent - min(s.Readings.Sent, s.Readings.Accepted+s.Readings.Rejected)
	bills, err := w.he.Bills(ctx)
	if err != nil {
		return nil, fmt.Errorf("demo: bills: %w", err)
	}
	s.Bills = len(bills)
	for _, b := range bills {
		s.EnergyKWh += float64(b.EnergyWh) / 1000
		s.BilledCost += b.Cost
	}
	if s.Privacy, err = w.privacy(); err != nil {
		return nil, fmt.Errorf("demo: privacy: %w", err)
	}
	s.HEMS = w.hemsSummary()
	s.HeadEnd = w.he.Ingester().Stats()
	s.Integrity.LogSize = s.HeadEnd.LogSize
	s.BusRefusals = w.bus.Refusals()
	s.ElapsedSeconds = time.Since(began).Seconds()
	s.SimulationSeconds = time.Since(simStart).Seconds()
	if s.SimulationSeconds > 0 {
		s.ReadingsPerSecond = float64(s.Readings.Accepted) / s.SimulationSeconds
	}
	return s, nil
}

// counts lists "name n" pairs, most first, then by name.
func counts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	names := slices.Collect(maps.Keys(m))
	slices.SortFunc(names, func(a, b string) int {
		if m[a] != m[b] {
			return m[b] - m[a]
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %d", n, m[n])
	}
	return strings.Join(parts, ", ")
}

// Clean reports whether the run lost, rejected or disputed nothing.
func (s *Summary) Clean() bool {
	return s.Readings.Lost == 0 && s.Readings.Rejected == 0 && s.Integrity.Mismatches == 0
}

// WriteJSON writes the summary to path.
func (s *Summary) WriteJSON(path string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// WriteText prints the short human summary.
func (s *Summary) WriteText(w io.Writer) {
	fmt.Fprintf(w, "usapp demo: %d homes, %d h simulated in %.1f s (%.0f readings/s end to end)\n",
		s.Homes, s.Hours, s.ElapsedSeconds, s.ReadingsPerSecond)
	fmt.Fprintf(w, "  readings   sent %d, accepted %d, rejected %d, lost %d, retransmitted %d\n",
		s.Readings.Sent, s.Readings.Accepted, s.Readings.Rejected, s.Readings.Lost, s.Readings.Retransmissions)
	fmt.Fprintf(w, "  billing    %d homes billed, %.1f kWh, %.2f %s\n", s.Bills, s.EnergyKWh, s.BilledCost, s.Currency)
	fmt.Fprintf(w, "  integrity  %d checkpoints verified by gateways, %d mismatches, log size %d\n",
		s.Integrity.CheckpointsVerified, s.Integrity.Mismatches, s.Integrity.LogSize)
	if p := s.Privacy; p != nil {
		algo := p.Algorithm
		var told []string
		if p.Planned {
			told = append(told, "told the planned runs")
		}
		if p.HistoryDays > 0 {
			told = append(told, fmt.Sprintf("%d days of history", p.HistoryDays))
		}
		if len(told) > 0 {
			algo += " (" + strings.Join(told, ", ") + ")"
		}
		fmt.Fprintf(w, "  privacy    %s on %g kWh / %g kW: worst attacker F1 %.2f (%.2f unhidden), I(demand; metered) %.2f bits, extra energy %.1f %% (mean of %d homes)\n",
			algo, p.BatteryKWh, p.BatteryKW, p.WorstF1, p.UnhiddenWorstF1, p.MIBits, p.ExtraEnergyPct, p.Homes)
	}
	if h := s.HEMS; h != nil {
		dr := "no demand-response window"
		if len(h.DemandResponse) > 0 {
			dr = "demand response " + strings.Join(h.DemandResponse, ", ")
		}
		fmt.Fprintf(w, "  hems       %s: %d arbitration decisions; won by %s; lost by %s\n",
			dr, h.Decisions, counts(h.ByWinner), counts(h.ByLoser))
	}
	verdict := "clean run: nothing lost, rejected or disputed"
	if !s.Clean() {
		verdict = "NOT CLEAN: see the log and summary.json"
	}
	fmt.Fprintf(w, "  %s\n", verdict)
}

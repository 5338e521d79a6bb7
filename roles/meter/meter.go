// Package meter is the smart meter role: the legal source of billing data. It
// measures a home's demand (a household trace) and, every 30 minutes, signs an
// energy register under its attributable identity (LFID) for the gateway to
// forward. It implements the meter's side of A1.signed-messages and of
// C2.spheres-of-control (customer data only ever leaves as 30-minute
// registers).
//
// A Meter is not safe for concurrent use: one goroutine drives it, as one
// metrology clock drives a physical meter.
package meter

import (
	"crypto/ed25519"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/usapp/usapp/comms/envelope"
	"github.com/usapp/usapp/metering"
	"github.com/usapp/usapp/sim/household"
)

// Meter produces signed registers from a demand trace.
type Meter struct {
	lfdi       string
	key        atomic.Pointer[ed25519.PrivateKey] // swapped by Rekey while readings are taken
	trace      *household.Trace
	counter    uint64
	cumulative float64 // Wh since installation, kept as a float so rounding never drifts
	billed     uint64  // Wh already put into registers
}

// New returns a meter with identity lfdi signing with key. counter is the last
// counter the meter used (0 for a new meter), so a restarted meter never
// reuses one.
func New(lfdi string, key ed25519.PrivateKey, trace *household.Trace, counter uint64) *Meter {
	m := &Meter{lfdi: lfdi, trace: trace, counter: counter}
	m.key.Store(&key)
	return m
}

// Rekey makes every later reading carry a signature by key: the meter has
// renewed its certificate with a new key. It is safe to call while another
// goroutine takes readings; a reading already signed keeps its signature.
func (m *Meter) Rekey(key ed25519.PrivateKey) { m.key.Store(&key) }

// LFDI returns the meter's identity.
func (m *Meter) LFDI() string { return m.lfdi }

// Counter returns the last counter used.
func (m *Meter) Counter() uint64 { return m.counter }

// Reading is one signed register with what the gateway needs to handle it.
type Reading struct {
	Register metering.Register
	Counter  uint64
	Signed   []byte // COSE_Sign1 over the register: the record the head-end logs
}

// Read closes the register for the interval starting at start and signs it at
// time now. The trace is read cyclically by time of day, so a one-day trace
// can drive a meter for any date (the day repeats).
func (m *Meter) Read(start, now time.Time) (Reading, error) {
	wh := m.energy(start, start.Add(metering.Interval))
	m.cumulative += wh
	// Round the cumulative register, not each interval, so the sum of the
	// registers equals the rounded total: no energy is lost to rounding.
	total := uint64(math.Round(m.cumulative))
	reg := metering.Register{Meter: m.lfdi, Start: start.UTC(), Length: metering.Interval,
		EnergyWh: int64(total - m.billed), CumulativeWh: total}
	body, err := reg.Marshal()
	if err != nil {
		return Reading{}, fmt.Errorf("meter %s: %w", m.lfdi, err)
	}
	m.counter++
	signed, err := envelope.Sign(*m.key.Load(), envelope.Header{V: 1, Kind: metering.Kind, Sender: m.lfdi,
		Counter: m.counter, Time: now.UnixMilli()}, body)
	if err != nil {
		m.counter--
		return Reading{}, fmt.Errorf("meter %s: sign: %w", m.lfdi, err)
	}
	m.billed = total
	return Reading{Register: reg, Counter: m.counter, Signed: signed}, nil
}

// energy integrates the trace over [from, to), wrapping around the trace's
// length so that any date maps onto the same time of day.
func (m *Meter) energy(from, to time.Time) float64 {
	tr := m.trace
	span := tr.End().Sub(tr.Start)
	offset := from.Sub(tr.Start) % span
	if offset < 0 {
		offset += span
	}
	a := tr.Start.Add(offset)
	b := a.Add(to.Sub(from))
	if !b.After(tr.End()) {
		return tr.EnergyWh(a, b)
	}
	return tr.EnergyWh(a, tr.End()) + tr.EnergyWh(tr.Start, tr.Start.Add(b.Sub(tr.End())))
}

// State is what a meter must keep across restarts so that it never reuses a
// counter and its cumulative register never goes back.
type State struct {
	Counter      uint64  `json:"counter"`
	CumulativeWh float64 `json:"cumulative_wh"`
	BilledWh     uint64  `json:"billed_wh"`
}

// State returns the meter's state after its last reading.
func (m *Meter) State() State {
	return State{Counter: m.counter, CumulativeWh: m.cumulative, BilledWh: m.billed}
}

// Restore returns a meter continuing from a saved state.
func Restore(lfdi string, key ed25519.PrivateKey, trace *household.Trace, s State) *Meter {
	m := New(lfdi, key, trace, s.Counter)
	m.cumulative, m.billed = s.CumulativeWh, s.BilledWh
	return m
}

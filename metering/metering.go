// Package metering defines the billing register, the customer data of USaPP's
// spheres of control (C2.spheres-of-control): the energy a meter measured over
// one 30-minute interval, attributable to the meter's LFID.
//
// A register travels as the body of a signed envelope (kind "reading"). Its
// encoding is a public contract, version 1: a CBOR map with integer keys,
// deterministic encoding, decoded strictly (no unknown keys, no duplicate
// keys, no trailing bytes).
//
//	{1: meter LFDI (tstr, 40 hex), 2: interval start (uint, unix seconds),
//	 3: interval length (uint, seconds), 4: energy (int, Wh),
//	 5: cumulative register (uint, Wh, since installation)}
//
// The cumulative register lets the utility detect a missing interval from two
// neighbours, as a physical meter's dial would.
package metering

import (
	"errors"
	"fmt"
	"time"

	"github.com/usapp/usapp/internal/strictcbor"
)

// Interval is the billing register period: 30 minutes, as in the GB and
// German settlement rules.
const Interval = 30 * time.Minute

// MaxEnergyWh bounds one register: 30 minutes at 100 kW, far above any home
// connection. Larger values are rejected as malformed (an impossible reading).
const MaxEnergyWh = 50_000

// Kind is the envelope kind of a register.
const Kind = "reading"

// ErrMalformed reports a register that does not decode or is out of range.
var ErrMalformed = errors.New("metering: malformed register")

// Register is one interval's energy.
type Register struct {
	Meter        string        // LFDI of the meter
	Start        time.Time     // interval start, UTC, second resolution
	Length       time.Duration // interval length
	EnergyWh     int64         // energy imported over the interval
	CumulativeWh uint64        // register value at the end of the interval
}

type wire struct {
	Meter      string `cbor:"1,keyasint"`
	Start      uint64 `cbor:"2,keyasint"`
	Length     uint32 `cbor:"3,keyasint"`
	EnergyWh   int64  `cbor:"4,keyasint"`
	Cumulative uint64 `cbor:"5,keyasint"`
}

var decMode = strictcbor.Decoder(16, 4)

// Marshal encodes a register. It validates first, so a meter can never sign
// a register the head-end would refuse.
func (r Register) Marshal() ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return strictcbor.Marshal(wire{r.Meter, uint64(r.Start.Unix()), uint32(r.Length / time.Second), r.EnergyWh, r.CumulativeWh})
}

// Unmarshal decodes and validates a register.
func Unmarshal(b []byte) (Register, error) {
	var w wire
	if err := decMode.Unmarshal(b, &w); err != nil {
		return Register{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if w.Start > 1<<40 {
		return Register{}, fmt.Errorf("%w: start out of range", ErrMalformed)
	}
	r := Register{w.Meter, time.Unix(int64(w.Start), 0).UTC(), time.Duration(w.Length) * time.Second, w.EnergyWh, w.Cumulative}
	return r, r.Validate()
}

// Validate checks the ranges a physical meter guarantees.
func (r Register) Validate() error {
	switch {
	case len(r.Meter) != 40:
		return fmt.Errorf("%w: meter id must be a 40-character LFDI", ErrMalformed)
	case r.Length != Interval:
		return fmt.Errorf("%w: interval must be %v", ErrMalformed, Interval)
	case r.Start.Unix()%int64(Interval/time.Second) != 0:
		return fmt.Errorf("%w: interval start not aligned to %v", ErrMalformed, Interval)
	case r.EnergyWh < 0 || r.EnergyWh > MaxEnergyWh:
		return fmt.Errorf("%w: energy out of range [0, %d] Wh", ErrMalformed, MaxEnergyWh)
	}
	for _, c := range r.Meter {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F') {
			return fmt.Errorf("%w: meter id must be upper-case hex", ErrMalformed)
		}
	}
	return nil
}

// Package feedback is the wire format of B3.integrity-feedback: what the
// head-end sends back to a home gateway after ingesting its readings.
//
// USaPP's redundancy control has the utility return an integrity check Y of the
// billing data X it received, so the home compares Y with its own copy instead
// of trusting the network. Here Y is a transparency-log receipt: the signed
// checkpoint of the head-end's log and, for each accepted reading, an inclusion
// proof of the exact bytes the meter signed. A gateway that verifies the proof
// against its own copy knows the utility logged (and will bill) precisely what
// the meter measured; a consistency proof from the last checkpoint the gateway
// saw shows the log was only appended to.
//
// Rejections cannot be proven by a log, so they travel in a notice signed by
// the head-end (a COSE_Sign1 envelope of kind "rejection").
//
// # Wire format, version 1
//
// A Message is a CBOR map with integer keys, deterministic encoding:
//
//	{1: checkpoint (bstr, signed note),
//	 3: consistency proofs (array of {1: from size (uint), 2: array of 32-byte bstr}),
//	 4: items (array of Item), 5: rejection notice (bstr, COSE_Sign1), 6: version (uint, 1)}
//
// A consistency proof runs from an earlier tree size to the checkpoint's. The
// head-end sends one from the size of the last checkpoint it answered the
// route with, and one from the size the gateway said it had verified, so that
// whichever the gateway holds it can check the log only grew.
//
//	Item: {1: meter, 2: counter, 3: status (1 accepted, 2 duplicate), 4: log index,
//	       5: inclusion proof (array of 32-byte bstr), 6: leaf hash (32-byte bstr)}
//	Rejection (the notice's body): array of {1: meter, 2: counter, 3: reason}
package feedback

import (
	"errors"
	"fmt"

	"github.com/usapp/usapp/internal/strictcbor"
)

// Limits bound what a decoder accepts, so a hostile peer cannot make a
// gateway allocate without bound.
const (
	MaxMessageSize = 1 << 20
	MaxItems       = 4096
	MaxProofLen    = 64 // a Merkle path of a log with 2^64 leaves
	MaxProofs      = 4  // consistency proofs per message
)

// Status of one reading at the head-end.
type Status uint8

const (
	Accepted  Status = 1 // stored and logged now
	Duplicate Status = 2 // already stored and logged: the proof is for the stored copy
)

// Item is the receipt for one accepted (or previously accepted) reading.
type Item struct {
	Meter   string   `cbor:"1,keyasint"`
	Counter uint64   `cbor:"2,keyasint"`
	Status  Status   `cbor:"3,keyasint"`
	Index   int64    `cbor:"4,keyasint"`
	Proof   [][]byte `cbor:"5,keyasint"`
	Leaf    []byte   `cbor:"6,keyasint"` // the leaf hash the head-end logged: USaPP's integrity check Y
}

// Rejection names a reading the head-end refused and why (a stable reason
// code such as "bad_signature" or "replay").
type Rejection struct {
	Meter   string `cbor:"1,keyasint"`
	Counter uint64 `cbor:"2,keyasint"`
	Reason  string `cbor:"3,keyasint"`
}

// Consistency proves the log at the checkpoint's size extends the log at
// size From (RFC 6962 consistency proof).
type Consistency struct {
	From   int64    `cbor:"1,keyasint"`
	Hashes [][]byte `cbor:"2,keyasint"`
}

// Message is one head-end answer to one route (gateway).
type Message struct {
	Checkpoint []byte        `cbor:"1,keyasint,omitempty"`
	Proofs     []Consistency `cbor:"3,keyasint,omitempty"`
	Items      []Item        `cbor:"4,keyasint,omitempty"`
	Notice     []byte        `cbor:"5,keyasint,omitempty"`
	Version    uint8         `cbor:"6,keyasint"`
}

// ProofFrom returns the consistency proof starting at size from.
func (m *Message) ProofFrom(from int64) ([][]byte, bool) {
	for _, p := range m.Proofs {
		if p.From == from {
			return p.Hashes, true
		}
	}
	return nil, false
}

// ErrMalformed reports a message that does not decode or breaks a limit.
var ErrMalformed = errors.New("feedback: malformed message")

// RejectionKind is the envelope kind of a signed rejection notice.
const RejectionKind = "rejection"

var decMode = strictcbor.Decoder(MaxItems, 6)

// Marshal encodes a message.
func (m *Message) Marshal() ([]byte, error) {
	m.Version = 1
	return strictcbor.Marshal(m)
}

// Unmarshal decodes and bounds-checks a message.
func Unmarshal(b []byte) (*Message, error) {
	if len(b) > MaxMessageSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrMalformed, len(b))
	}
	var m Message
	if err := decMode.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if m.Version != 1 {
		return nil, fmt.Errorf("%w: version %d", ErrMalformed, m.Version)
	}
	if len(m.Proofs) > MaxProofs {
		return nil, fmt.Errorf("%w: %d consistency proofs", ErrMalformed, len(m.Proofs))
	}
	for _, p := range m.Proofs {
		if p.From <= 0 {
			return nil, fmt.Errorf("%w: consistency proof from size %d", ErrMalformed, p.From)
		}
		if err := checkProof(p.Hashes); err != nil {
			return nil, err
		}
	}
	for _, it := range m.Items {
		if it.Status != Accepted && it.Status != Duplicate {
			return nil, fmt.Errorf("%w: status %d", ErrMalformed, it.Status)
		}
		if err := checkProof(it.Proof); err != nil {
			return nil, err
		}
		if len(it.Leaf) != 32 {
			return nil, fmt.Errorf("%w: leaf hash of %d bytes", ErrMalformed, len(it.Leaf))
		}
	}
	return &m, nil
}

func checkProof(p [][]byte) error {
	if len(p) > MaxProofLen {
		return fmt.Errorf("%w: proof of %d hashes", ErrMalformed, len(p))
	}
	for _, h := range p {
		if len(h) != 32 {
			return fmt.Errorf("%w: proof hash of %d bytes", ErrMalformed, len(h))
		}
	}
	return nil
}

// MarshalRejections encodes the body of a rejection notice.
func MarshalRejections(rs []Rejection) ([]byte, error) { return strictcbor.Marshal(rs) }

// UnmarshalRejections decodes the body of a rejection notice.
func UnmarshalRejections(b []byte) ([]Rejection, error) {
	var rs []Rejection
	if err := decMode.Unmarshal(b, &rs); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return rs, nil
}

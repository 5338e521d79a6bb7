package ledger

import (
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Errors about receipts.
var (
	ErrMalformed = errors.New("ledger: malformed receipt")
	ErrBadProof  = errors.New("ledger: invalid inclusion proof")
	ErrMismatch  = errors.New("ledger: logged record differs from ours")
)

// Size limits for decoding. A proof has at most one hash per tree level, and
// tree sizes are int64, so 64 hashes cover every possible tree.
const (
	maxProof   = 64
	maxReceipt = maxCheckpoint + maxProof*(tlog.HashSize+2) + 64
)

// Receipt is the head-end's integrity feedback for one billing record: the
// leaf hash it logged (the integrity check Y of the record X), a signed
// checkpoint, and the proof that the leaf is in the checkpoint's tree.
//
// Its CBOR encoding is a map with integer keys: 1 index (uint), 2 checkpoint
// (bstr, the signed note), 3 proof (array of 32-byte bstr), 4 leaf (32-byte
// bstr). Encoding is deterministic (RFC 8949 section 4.2.1).
type Receipt struct {
	Index      int64            `json:"index"`
	Checkpoint []byte           `json:"checkpoint"`
	Proof      tlog.RecordProof `json:"proof"`
	Leaf       tlog.Hash        `json:"leaf"`
}

type receiptWire struct {
	Index      int64    `cbor:"1,keyasint"`
	Checkpoint []byte   `cbor:"2,keyasint"`
	Proof      [][]byte `cbor:"3,keyasint"`
	Leaf       []byte   `cbor:"4,keyasint"`
}

var (
	receiptEnc = mustEncMode()
	receiptDec = mustDecMode()
)

func mustEncMode() cbor.EncMode {
	m, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	return m
}

func mustDecMode() cbor.DecMode {
	m, err := cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		MaxNestedLevels:   4,
		MaxArrayElements:  maxProof,
		MaxMapPairs:       16,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return m
}

// MarshalCBOR encodes r in the receipt CBOR format.
func (r Receipt) MarshalCBOR() ([]byte, error) {
	w := receiptWire{Index: r.Index, Checkpoint: r.Checkpoint, Leaf: r.Leaf[:], Proof: make([][]byte, len(r.Proof))}
	for i := range r.Proof {
		w.Proof[i] = r.Proof[i][:]
	}
	return receiptEnc.Marshal(w)
}

// UnmarshalCBOR decodes the receipt CBOR format with the limits of
// [DecodeReceipt], so a Receipt embedded in another message is bounded too.
func (r *Receipt) UnmarshalCBOR(data []byte) error {
	got, err := DecodeReceipt(data)
	if err != nil {
		return err
	}
	*r = got
	return nil
}

// DecodeReceipt decodes a CBOR receipt from untrusted input. It bounds the
// input size, the checkpoint size and the proof length, rejects unknown and
// duplicate keys, and fails with [ErrMalformed].
func DecodeReceipt(data []byte) (Receipt, error) {
	if len(data) > maxReceipt {
		return Receipt{}, fmt.Errorf("%w: %d bytes", ErrMalformed, len(data))
	}
	var w receiptWire
	if err := receiptDec.Unmarshal(data, &w); err != nil {
		return Receipt{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	switch {
	case w.Index < 0:
		return Receipt{}, fmt.Errorf("%w: negative index", ErrMalformed)
	case len(w.Checkpoint) == 0 || len(w.Checkpoint) > maxCheckpoint:
		return Receipt{}, fmt.Errorf("%w: checkpoint size", ErrMalformed)
	case len(w.Proof) > maxProof:
		return Receipt{}, fmt.Errorf("%w: proof length", ErrMalformed)
	case len(w.Leaf) != tlog.HashSize:
		return Receipt{}, fmt.Errorf("%w: leaf hash size", ErrMalformed)
	}
	r := Receipt{Index: w.Index, Checkpoint: w.Checkpoint, Proof: make(tlog.RecordProof, len(w.Proof))}
	copy(r.Leaf[:], w.Leaf)
	for i, h := range w.Proof {
		if len(h) != tlog.HashSize {
			return Receipt{}, fmt.Errorf("%w: proof hash size", ErrMalformed)
		}
		copy(r.Proof[i][:], h)
	}
	return r, nil
}

// VerifyReceipt checks a receipt for record, the billing record the home
// kept: the checkpoint must be signed by v and name origin
// ([ErrBadCheckpoint]), the proof must place the receipt's leaf in the
// checkpoint's tree ([ErrBadProof]), and that leaf must be the hash of record
// ([ErrMismatch]: the utility logged different billing data). On ErrMismatch
// the verified checkpoint is returned too, as evidence.
func VerifyReceipt(v note.Verifier, origin string, record []byte, r Receipt) (Checkpoint, error) {
	c, err := ParseCheckpoint(r.Checkpoint, v)
	if err != nil {
		return Checkpoint{}, err
	}
	if c.Origin != origin {
		return Checkpoint{}, fmt.Errorf("%w: unexpected origin", ErrBadCheckpoint)
	}
	return c, VerifyInclusion(c, record, r)
}

// VerifyInclusion checks a receipt's proof and leaf against a checkpoint the
// caller has already verified (ParseCheckpoint), so that a batch of receipts
// sharing one checkpoint costs one signature check, not one per receipt.
func VerifyInclusion(c Checkpoint, record []byte, r Receipt) error {
	if r.Index < 0 || r.Index >= c.Size || len(r.Proof) > maxProof {
		return fmt.Errorf("%w: index out of range", ErrBadProof)
	}
	if err := tlog.CheckRecord(r.Proof, c.Size, c.Hash, r.Index, r.Leaf); err != nil {
		return fmt.Errorf("%w: %w", ErrBadProof, err)
	}
	if r.Leaf != RecordHash(record) {
		return ErrMismatch
	}
	return nil
}

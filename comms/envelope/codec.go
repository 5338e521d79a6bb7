package envelope

import (
	"bytes"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Version is the wire-format version this package writes and accepts.
const Version = 1

// MaxSealedSize bounds every message this package accepts or produces, sealed
// or plain. Larger inputs are rejected before any parsing.
const MaxSealedSize = 64 << 10

// maxSignedSize leaves room inside MaxSealedSize for the outer header and the
// AEAD tag, so that anything Sign accepts can also be sealed.
const maxSignedSize = MaxSealedSize - 512

// Field bounds; hostile input is measured against them before it is used.
const (
	maxKindLen = 64
	maxFromLen = 128
	senderLen  = 40 // LFDI: 160 bits as upper-case hex
	encLen     = 32 // X25519 encapsulated key
	tagLen     = 16 // AES-GCM tag
)

var (
	encMode cbor.EncMode
	decMode cbor.DecMode
)

func init() {
	eo := cbor.CoreDetEncOptions()
	// An empty body must have one encoding (0x40), not also null.
	eo.NilContainers = cbor.NilContainerAsEmpty
	var err error
	if encMode, err = eo.EncMode(); err != nil {
		panic(err)
	}
	decMode, err = cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		UTF8:              cbor.UTF8RejectInvalid,
		MaxNestedLevels:   4,
		MaxArrayElements:  16,
		MaxMapPairs:       16,
	}.DecMode()
	if err != nil {
		panic(err)
	}
}

// decodeCanonical decodes data strictly into v and then insists that data is
// exactly the deterministic encoding of v. That single comparison rejects
// non-shortest integers and lengths, unsorted keys, missing required fields
// and null-for-empty substitutions, so every accepted value has exactly one
// encoding (and so one digest).
func decodeCanonical(data []byte, v any) error {
	if err := decMode.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	again, err := encMode.Marshal(v)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if !bytes.Equal(again, data) {
		return fmt.Errorf("%w: not deterministic CBOR", ErrMalformed)
	}
	return nil
}

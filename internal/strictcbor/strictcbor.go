// Package strictcbor is the one CBOR profile of USaPP's small wire formats
// (registers, feedback): deterministic encoding (RFC 8949 §4.2, so equal
// values have equal bytes and equal hashes), and strict decoding that refuses
// duplicate map keys, indefinite lengths, unknown fields and trailing bytes,
// with bounded sizes so a hostile peer cannot make a decoder allocate without
// limit.
package strictcbor

import "github.com/fxamacker/cbor/v2"

var enc = must(cbor.CoreDetEncOptions().EncMode())

// Marshal encodes v deterministically.
func Marshal(v any) ([]byte, error) { return enc.Marshal(v) }

// Decoder returns a strict decoder accepting arrays of at most maxItems (at
// least 16, the library's floor)
// elements and maps of at most 16 pairs, nested at most depth levels.
func Decoder(maxItems, depth int) cbor.DecMode {
	return must(cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		MaxArrayElements:  max(maxItems, 16),
		MaxMapPairs:       16,
		MaxNestedLevels:   depth,
	}.DecMode())
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err) // the options are constants: a failure is a programming error
	}
	return v
}

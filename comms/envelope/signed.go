package envelope

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"

	"github.com/veraison/go-cose"
)

// Header is the signed metadata of every message. It is covered by the
// origin's signature, so routes cannot alter it.
type Header struct {
	V       uint8  // wire version; Sign fills in Version when zero
	Kind    string // "reading", "receipt", "command", ...; 1..64 bytes
	Sender  string // the origin's LFDI: 40 upper-case hex digits (IEEE 2030.5 LFDI)
	Counter uint64 // per-sender, strictly increasing; the replay key with Sender
	Time    int64  // signing time, Unix milliseconds
}

// payload is the wire form of Header+Body (see doc.go). No field is optional:
// decodeCanonical rejects an encoding that omits one.
type payload struct {
	V       uint8  `cbor:"1,keyasint"`
	Kind    string `cbor:"2,keyasint"`
	Sender  string `cbor:"3,keyasint"`
	Counter uint64 `cbor:"4,keyasint"`
	Time    int64  `cbor:"5,keyasint"`
	Body    []byte `cbor:"6,keyasint"`
}

func (p *payload) header() Header {
	return Header{V: p.V, Kind: p.Kind, Sender: p.Sender, Counter: p.Counter, Time: p.Time}
}

// validate checks the fields a version-1 header must satisfy; it is applied
// both when signing and when opening.
func (h *Header) validate() error {
	if h.V != Version {
		return fmt.Errorf("%w: header version %d", ErrVersion, h.V)
	}
	if h.Kind == "" || len(h.Kind) > maxKindLen {
		return fmt.Errorf("%w: kind length %d", ErrMalformed, len(h.Kind))
	}
	if !isLFDI(h.Sender) {
		return fmt.Errorf("%w: sender is not 40 upper-case hex digits (IEEE 2030.5 LFDI)", ErrMalformed)
	}
	return nil
}

func isLFDI(s string) bool {
	if len(s) != senderLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'A' || c > 'F') {
			return false
		}
	}
	return true
}

// The only protected header version 1 allows: {1 (alg): -8 (EdDSA)}. Fixing it
// byte for byte removes algorithm confusion and header malleability.
var (
	protectedEdDSA = []byte{0xa1, 0x01, 0x27}
	protectedBstr  = []byte{0x43, 0xa1, 0x01, 0x27}
)

// Sign encodes h and body and signs them with key as a tagged COSE_Sign1
// (RFC 9052 §4.2, alg EdDSA). The result is what the origin vouches for; it
// is sealed separately by the gateway. A zero h.V means Version.
func Sign(key ed25519.PrivateKey, h Header, body []byte) ([]byte, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: signing key length %d", ErrConfig, len(key))
	}
	if h.V == 0 {
		h.V = Version
	}
	pl, err := encodePayload(h, body)
	if err != nil {
		return nil, err
	}
	signer, err := cose.NewSigner(cose.AlgorithmEdDSA, key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	hdr := cose.Headers{Protected: cose.ProtectedHeader{cose.HeaderLabelAlgorithm: cose.AlgorithmEdDSA}}
	signed, err := cose.Sign1(rand.Reader, signer, hdr, pl, nil)
	if err != nil {
		return nil, fmt.Errorf("envelope: sign: %w", err)
	}
	if len(signed) > maxSignedSize {
		return nil, fmt.Errorf("%w: signed message of %d bytes", ErrTooLarge, len(signed))
	}
	return signed, nil
}

func encodePayload(h Header, body []byte) ([]byte, error) {
	if err := h.validate(); err != nil {
		return nil, err
	}
	if len(body) > maxSignedSize {
		return nil, fmt.Errorf("%w: body of %d bytes", ErrTooLarge, len(body))
	}
	p := payload{V: h.V, Kind: h.Kind, Sender: h.Sender, Counter: h.Counter, Time: h.Time, Body: body}
	out, err := encMode.Marshal(&p)
	if err != nil {
		return nil, fmt.Errorf("envelope: encode payload: %w", err)
	}
	return out, nil
}

// decodePayload parses and validates a Header+Body payload.
func decodePayload(data []byte) (*payload, error) {
	var p payload
	if err := decodeCanonical(data, &p); err != nil {
		return nil, err
	}
	h := p.header()
	if err := h.validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// signedMsg is a parsed, not yet verified, COSE_Sign1.
type signedMsg struct {
	p   *payload
	tbs []byte // Sig_structure bytes the signature covers
	sig []byte
}

// decodeSigned parses a version-1 COSE_Sign1 strictly. Exactly one layout
// is accepted — tag 18, array(4), protected {1:-8}, empty unprotected map,
// payload, 64-byte signature, every length in its shortest form — so a signed
// message has one encoding and Digest is a stable identifier for it. Because
// the layout is fixed it is checked byte by byte rather than decoded
// generically: stricter, and cheaper on the head-end's hot path. (go-cose
// still produces the signatures; TestGoCOSEInterop checks it verifies ours.)
func decodeSigned(signed []byte) (*signedMsg, error) {
	if len(signed) > maxSignedSize {
		return nil, fmt.Errorf("%w: signed message of %d bytes", ErrTooLarge, len(signed))
	}
	rest, ok := bytes.CutPrefix(signed, signedPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: not a version-1 COSE_Sign1 (tag, headers or alg)", ErrMalformed)
	}
	n, head, ok := bstrLen(rest)
	if !ok || len(rest)-head-n != len(sigHead)+ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: cose payload or signature length", ErrMalformed)
	}
	pl := rest[head : head+n]
	tail := rest[head+n:]
	if !bytes.HasPrefix(tail, sigHead) {
		return nil, fmt.Errorf("%w: cose signature is not a 64-byte bstr", ErrMalformed)
	}
	p, err := decodePayload(pl)
	if err != nil {
		return nil, err
	}
	return &signedMsg{p: p, tbs: toBeSigned(pl), sig: tail[len(sigHead):]}, nil
}

var (
	signedPrefix = append(append([]byte{0xd2, 0x84}, protectedBstr...), 0xa0)
	sigHead      = []byte{0x58, ed25519.SignatureSize}
)

// bstrLen reads the head of a CBOR byte string and returns its length and
// the head's size; it refuses any head that is not the shortest form.
func bstrLen(b []byte) (n, head int, ok bool) {
	if len(b) == 0 || b[0]>>5 != 2 {
		return 0, 0, false
	}
	switch ai := b[0] & 0x1f; {
	case ai < 24:
		n, head = int(ai), 1
	case ai == 24 && len(b) >= 2:
		n, head = int(b[1]), 2
	case ai == 25 && len(b) >= 3:
		n, head = int(b[1])<<8|int(b[2]), 3
	case ai == 26 && len(b) >= 5:
		n, head = int(b[1])<<24|int(b[2])<<16|int(b[3])<<8|int(b[4]), 5
	default:
		return 0, 0, false
	}
	if len(appendBstrHead(nil, n)) != head || n > len(b)-head {
		return 0, 0, false
	}
	return n, head, true
}

// canonicalSign1 is the only accepted encoding of a version-1 COSE_Sign1.
func canonicalSign1(pl, sig []byte) []byte {
	out := make([]byte, 0, 16+len(pl)+len(sig))
	out = append(out, 0xd2, 0x84) // tag 18, array(4)
	out = append(out, protectedBstr...)
	out = append(out, 0xa0) // unprotected: empty map
	out = appendBstrHead(out, len(pl))
	out = append(out, pl...)
	out = appendBstrHead(out, len(sig))
	return append(out, sig...)
}

func appendBstrHead(b []byte, n int) []byte {
	const major = 2 << 5
	switch {
	case n < 24:
		return append(b, major|byte(n))
	case n <= 0xff:
		return append(b, major|24, byte(n))
	case n <= 0xffff:
		return append(b, major|25, byte(n>>8), byte(n))
	default:
		return append(b, major|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// toBeSigned builds the Sig_structure of RFC 9052 §4.4,
// ["Signature1", protected, external_aad, payload], for our fixed protected
// header and empty external AAD. A test checks it against go-cose's own.
func toBeSigned(pl []byte) []byte {
	const context = "Signature1"
	out := make([]byte, 0, 24+len(pl))
	out = append(out, 0x84, 0x60|byte(len(context))) // array(4), tstr(10)
	out = append(out, context...)
	out = appendBstrHead(out, len(protectedEdDSA))
	out = append(out, protectedEdDSA...)
	out = append(out, 0x40) // external_aad: empty bstr
	out = appendBstrHead(out, len(pl))
	return append(out, pl...)
}

// Digest is the SHA-256 of a signed message (or of a plain payload): the
// stable identifier the head-end stores, logs and returns in receipts.
func Digest(signed []byte) [32]byte {
	return sha256.Sum256(signed)
}

// Verify checks a signed message (not sealed) against the signer's key and
// returns its header and body. It is for messages whose signer is known in
// advance and that need no confidentiality, such as the head-end's rejection
// notices; it does no freshness or replay check (see ReplayWindow).
func Verify(signed []byte, key ed25519.PublicKey) (Header, []byte, error) {
	sm, err := decodeSigned(signed)
	if err != nil {
		return Header{}, nil, err
	}
	if len(key) != ed25519.PublicKeySize || !voi.VerifyWithOptions(voi.PublicKey(key), sm.tbs, sm.sig, verifyOpts) {
		return Header{}, nil, ErrBadSignature
	}
	return sm.p.header(), sm.p.Body, nil
}

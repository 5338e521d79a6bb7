package envelope

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hpke"
	"encoding/binary"
	"fmt"
	"sync/atomic"
)

// HPKE suite and labels (RFC 9180): DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
// export-only. The labels are part of the wire contract.
var (
	kem  = hpke.DHKEM(ecdh.X25519())
	kdf  = hpke.HKDFSHA256()
	aead = hpke.ExportOnly()
)

const (
	hpkeInfo      = "usapp/v1 envelope session"
	exportContext = "usapp/v1 envelope key"
)

// sealedWire is the outer form of a sealed message; aadWire is the part of
// it the AEAD authenticates. Both are encoded deterministically.
type sealedWire struct {
	V    uint64 `cbor:"1,keyasint"`
	From string `cbor:"2,keyasint"`
	Enc  []byte `cbor:"3,keyasint"`
	Seq  uint64 `cbor:"4,keyasint"`
	CT   []byte `cbor:"5,keyasint"`
}

type aadWire struct {
	V    uint64 `cbor:"1,keyasint"`
	From string `cbor:"2,keyasint"`
	Enc  []byte `cbor:"3,keyasint"`
	Seq  uint64 `cbor:"4,keyasint"`
}

// plainWire is the protection-off form.
type plainWire struct {
	V       uint64 `cbor:"1,keyasint"`
	From    string `cbor:"2,keyasint"`
	Payload []byte `cbor:"6,keyasint"`
}

// anyWire decodes either outer form; which keys are present tells them apart.
type anyWire struct {
	V       uint64  `cbor:"1,keyasint"`
	From    string  `cbor:"2,keyasint"`
	Enc     []byte  `cbor:"3,keyasint,omitempty"`
	Seq     *uint64 `cbor:"4,keyasint,omitempty"`
	CT      []byte  `cbor:"5,keyasint,omitempty"`
	Payload []byte  `cbor:"6,keyasint,omitempty"`
}

func (w *anyWire) sealed() bool { return w.Enc != nil || w.Seq != nil || w.CT != nil }

func validFrom(from string) bool { return from != "" && len(from) <= maxFromLen }

// exporter is what Sender and Recipient have in common.
type exporter interface {
	Export(exporterContext string, length int) ([]byte, error)
}

// messageAEAD derives the one-time key for message seq of a session and
// returns AES-256-GCM under it. Each (session, seq) key protects exactly one
// plaintext, which is why a fixed all-zero nonce is safe.
func messageAEAD(x exporter, seq uint64) (cipher.AEAD, error) {
	var ctx [len(exportContext) + 8]byte
	copy(ctx[:], exportContext)
	binary.BigEndian.PutUint64(ctx[len(exportContext):], seq)
	key, err := x.Export(string(ctx[:]), 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

var zeroNonce [12]byte

func additionalData(from string, enc []byte, seq uint64) ([]byte, error) {
	return encMode.Marshal(&aadWire{V: Version, From: from, Enc: enc, Seq: seq})
}

// Session is the sending side of one HPKE context from a gateway to a
// recipient: one KEM at NewSession, then one exporter call and one AES-GCM
// seal per message. It is safe for concurrent use.
//
// A Session cannot be persisted (the HPKE context is ephemeral); a restarted
// gateway opens a new one. Rotate sessions periodically (e.g. daily) to bound
// what one compromised context exposes.
type Session struct {
	sender *hpke.Sender
	enc    []byte
	from   string
	next   atomic.Uint64 // next seq Seal uses
}

// NewSession opens an HPKE session to recipient (an X25519 key) on behalf of
// the route from (e.g. the gateway's LFDI, 1..128 bytes).
func NewSession(recipient *ecdh.PublicKey, from string) (*Session, error) {
	if recipient == nil || recipient.Curve() != ecdh.X25519() {
		return nil, fmt.Errorf("%w: recipient must be an X25519 key", ErrConfig)
	}
	if !validFrom(from) {
		return nil, fmt.Errorf("%w: from length %d", ErrConfig, len(from))
	}
	pk, err := hpke.NewDHKEMPublicKey(recipient)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	enc, sender, err := hpke.NewSender(pk, kdf, aead, []byte(hpkeInfo))
	if err != nil {
		return nil, fmt.Errorf("envelope: hpke: %w", err)
	}
	return &Session{sender: sender, enc: enc, from: from}, nil
}

// Enc returns a copy of the session's encapsulated key, which identifies the
// session on the wire.
func (s *Session) Enc() []byte { return append([]byte(nil), s.enc...) }

// Seal encrypts a signed message (from Sign) under the next sequence number.
func (s *Session) Seal(signed []byte) ([]byte, error) {
	return s.seal(s.next.Add(1)-1, signed)
}

// SealAt encrypts under an explicit sequence number, for callers that assign
// numbers themselves (e.g. a spool that persists them). The caller must never
// seal two different messages under one seq of one session: that reuses a
// key and nonce. SealAt moves the internal counter past seq so that later
// Seal calls cannot collide with it.
func (s *Session) SealAt(seq uint64, signed []byte) ([]byte, error) {
	for {
		cur := s.next.Load()
		if cur > seq || s.next.CompareAndSwap(cur, seq+1) {
			break
		}
	}
	return s.seal(seq, signed)
}

func (s *Session) seal(seq uint64, signed []byte) ([]byte, error) {
	if len(signed) > maxSignedSize {
		return nil, fmt.Errorf("%w: signed message of %d bytes", ErrTooLarge, len(signed))
	}
	aeadMsg, err := messageAEAD(s.sender, seq)
	if err != nil {
		return nil, fmt.Errorf("envelope: derive key: %w", err)
	}
	ad, err := additionalData(s.from, s.enc, seq)
	if err != nil {
		return nil, fmt.Errorf("envelope: encode: %w", err)
	}
	ct := aeadMsg.Seal(nil, zeroNonce[:], signed, ad)
	out, err := encMode.Marshal(&sealedWire{V: Version, From: s.from, Enc: s.enc, Seq: seq, CT: ct})
	if err != nil {
		return nil, fmt.Errorf("envelope: encode: %w", err)
	}
	return out, nil
}

// EncodePlain builds the protection-off form of a message: no signature, no
// encryption. It exists for the benchmark baseline and for deployments that
// deliberately disable A1/A2; a secure Opener rejects it (ErrPlainRejected).
// A zero h.V means Version.
func EncodePlain(from string, h Header, body []byte) ([]byte, error) {
	if !validFrom(from) {
		return nil, fmt.Errorf("%w: from length %d", ErrMalformed, len(from))
	}
	if h.V == 0 {
		h.V = Version
	}
	pl, err := encodePayload(h, body)
	if err != nil {
		return nil, err
	}
	out, err := encMode.Marshal(&plainWire{V: Version, From: from, Payload: pl})
	if err != nil {
		return nil, fmt.Errorf("envelope: encode: %w", err)
	}
	if len(out) > MaxSealedSize {
		return nil, fmt.Errorf("%w: plain message of %d bytes", ErrTooLarge, len(out))
	}
	return out, nil
}

package envelope

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hpke"
	"fmt"
	"slices"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// KeyResolver gives the keys a sender may have signed with at the message's
// signing time, the most likely first. There is more than one while a sender
// rotates its key: a device that renews with a new key keeps signing with the
// old one until the new certificate arrives, and its spool may deliver
// readings signed before the renewal for days, so both certificates are valid
// for a while and the signature, not the time, says which key was used. The
// head-end implements it over its PKI; it returns its own typed error for
// unknown or revoked senders, which Open wraps in ErrUnknownSender.
type KeyResolver interface {
	SigningKeys(sender string, at time.Time) ([]ed25519.PublicKey, error)
}

// KeyRefresher is a KeyResolver that caches. When none of the keys it gave
// verifies a message, the Opener asks it once to look past its cache (the
// sender may have renewed with a key it has not seen yet) and tries the keys
// it had not given before; a refresh that fails is wrapped in the message's
// ErrBadSignature. Refreshing is the resolver's cost to bound: a forged
// signature reaches it too.
type KeyRefresher interface {
	KeyResolver
	RefreshSigningKeys(sender string, at time.Time) ([]ed25519.PublicKey, error)
}

// MaxSenderKeys bounds the keys tried for one message, so that a resolver's
// answer cannot turn one message into unbounded verification work; a
// resolver that knows more keys of a sender gives the newest.
const MaxSenderKeys = 4

// Defaults for OpenerConfig.
const (
	DefaultMaxAge    = 7 * 24 * time.Hour
	DefaultMaxSkew   = 5 * time.Minute
	DefaultCacheSize = 4096
)

// OpenerConfig configures an Opener. Zero durations and sizes mean defaults.
type OpenerConfig struct {
	// Key is the recipient's X25519 key. Nil selects plain mode: only
	// EncodePlain messages are accepted and nothing is verified.
	Key *ecdh.PrivateKey
	// Keys resolves senders' signing keys; required unless Key is nil.
	Keys KeyResolver
	// MaxAge is how far in the past a signing time may lie (default 7 days,
	// long enough for a home spool to drain after an outage).
	MaxAge time.Duration
	// MaxSkew is how far in the future a signing time may lie (default 5 min).
	MaxSkew time.Duration
	// CacheSize bounds the number of cached HPKE sessions (default 4096).
	CacheSize int
}

// Message is an opened, verified message.
type Message struct {
	Header Header
	Body   []byte
	From   string // the route that sealed it; unauthenticated, see the package doc
	Seq    uint64 // the session sequence number; 0 for plain messages
	// Signed is the inner COSE_Sign1, exactly as the origin signed it: what
	// the head-end stores and can re-verify later. In plain mode it holds the
	// unsigned payload instead.
	Signed []byte
	Digest [32]byte // SHA-256 of Signed
}

// Opener opens sealed (or, in plain mode, plain) messages: size check,
// strict decoding, HPKE/AES-GCM decryption, COSE_Sign1 parsing, freshness,
// key resolution and Ed25519 verification (ZIP-215 rules). It does not
// detect replays: callers deduplicate on (Sender, Counter), with a store or
// a ReplayWindow. An Opener is safe for concurrent use.
type Opener struct {
	key      hpke.PrivateKey // nil in plain mode
	keys     KeyResolver
	maxAge   time.Duration
	maxSkew  time.Duration
	cache    *recipientCache
	expanded *expandedKeys // senders' public keys, decompressed
}

// NewOpener validates cfg and returns an Opener.
func NewOpener(cfg OpenerConfig) (*Opener, error) {
	if cfg.MaxAge < 0 || cfg.MaxSkew < 0 || cfg.CacheSize < 0 {
		return nil, fmt.Errorf("%w: negative MaxAge, MaxSkew or CacheSize", ErrConfig)
	}
	o := &Opener{keys: cfg.Keys, maxAge: cfg.MaxAge, maxSkew: cfg.MaxSkew}
	if o.maxAge == 0 {
		o.maxAge = DefaultMaxAge
	}
	if o.maxSkew == 0 {
		o.maxSkew = DefaultMaxSkew
	}
	if cfg.Key == nil {
		return o, nil
	}
	if cfg.Key.Curve() != ecdh.X25519() {
		return nil, fmt.Errorf("%w: recipient key must be X25519", ErrConfig)
	}
	if cfg.Keys == nil {
		return nil, fmt.Errorf("%w: Keys is required with Key", ErrConfig)
	}
	k, err := hpke.NewDHKEMPrivateKey(cfg.Key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	o.key = k
	size := cfg.CacheSize
	if size == 0 {
		size = DefaultCacheSize
	}
	o.cache = newRecipientCache(size)
	o.expanded = newExpandedKeys()
	return o, nil
}

// Open opens one message at time now.
func (o *Opener) Open(sealed []byte, now time.Time) (*Message, error) {
	msg, sm, pubs, err := o.prepare(sealed, now)
	if err != nil {
		return nil, err
	}
	if sm != nil {
		if err := o.verifyFrom(msg.Header, sm, pubs, 0); err != nil {
			return nil, err
		}
	}
	return msg, nil
}

// verifyFrom returns nil when one of pubs[first:], or of the keys a refresh
// adds to pubs, verifies sm (the batch has already tried pubs[0]), and
// ErrBadSignature otherwise.
func (o *Opener) verifyFrom(h Header, sm *signedMsg, pubs []ed25519.PublicKey, first int) error {
	for _, pub := range pubs[first:] {
		if o.verifyWith(pub, sm) {
			return nil
		}
	}
	return o.verifyRefreshed(h, sm, pubs)
}

// verifyRefreshed tries the keys a KeyRefresher gives for h's sender that
// are not among tried. When the refresh itself fails, the ErrBadSignature
// wraps its error: the sender may have renewed with a key the resolver could
// not look up, so a caller can tell a failed look-up (worth retrying later)
// from a signature that no key of the sender makes.
func (o *Opener) verifyRefreshed(h Header, sm *signedMsg, tried []ed25519.PublicKey) error {
	r, ok := o.keys.(KeyRefresher)
	if !ok {
		return ErrBadSignature
	}
	fresh, err := r.RefreshSigningKeys(h.Sender, time.UnixMilli(h.Time))
	if err != nil {
		return fmt.Errorf("%w: refreshing the sender's keys: %w", ErrBadSignature, err)
	}
	if len(fresh) > MaxSenderKeys {
		return ErrBadSignature
	}
	for _, pub := range fresh {
		seen := slices.ContainsFunc(tried, func(k ed25519.PublicKey) bool { return k.Equal(pub) })
		if !seen && o.verifyWith(pub, sm) {
			return nil
		}
	}
	return ErrBadSignature
}

func (o *Opener) verifyWith(pub ed25519.PublicKey, sm *signedMsg) bool {
	x, err := o.expanded.get(pub)
	return err == nil && verifyOne(x, sm.tbs, sm.sig)
}

// prepare does everything but signature verification. In secure mode it
// returns the parsed signature and the keys to verify with, the most likely
// first; in plain mode sm is nil.
func (o *Opener) prepare(in []byte, now time.Time) (*Message, *signedMsg, []ed25519.PublicKey, error) {
	if len(in) > MaxSealedSize {
		return nil, nil, nil, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(in))
	}
	w, err := decodeOuter(in)
	if err != nil {
		return nil, nil, nil, err
	}
	if o.key == nil {
		if w.sealed() {
			return nil, nil, nil, ErrNotPlain
		}
		msg, err := o.openPlain(w, now)
		return msg, nil, nil, err
	}
	if !w.sealed() {
		return nil, nil, nil, ErrPlainRejected
	}
	signed, err := o.decrypt(w)
	if err != nil {
		return nil, nil, nil, err
	}
	sm, err := decodeSigned(signed)
	if err != nil {
		return nil, nil, nil, err
	}
	h := sm.p.header()
	if err := o.fresh(&h, now); err != nil {
		return nil, nil, nil, err
	}
	pubs, err := o.keys.SigningKeys(h.Sender, time.UnixMilli(h.Time))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %w", ErrUnknownSender, err)
	}
	if err := checkKeys(pubs); err != nil {
		return nil, nil, nil, err
	}
	msg := &Message{Header: h, Body: sm.p.Body, From: w.From, Seq: *w.Seq, Signed: signed, Digest: Digest(signed)}
	return msg, sm, pubs, nil
}

// checkKeys rejects a resolver answer the Opener cannot use: no key, too
// many, or one of the wrong length.
func checkKeys(pubs []ed25519.PublicKey) error {
	if len(pubs) == 0 || len(pubs) > MaxSenderKeys {
		return fmt.Errorf("%w: resolver returned %d keys (1 to %d)", ErrUnknownSender, len(pubs), MaxSenderKeys)
	}
	for _, pub := range pubs {
		if len(pub) != ed25519.PublicKeySize {
			return fmt.Errorf("%w: resolver returned a %d-byte key", ErrUnknownSender, len(pub))
		}
	}
	return nil
}

func (o *Opener) openPlain(w *anyWire, now time.Time) (*Message, error) {
	p, err := decodePayload(w.Payload)
	if err != nil {
		return nil, err
	}
	h := p.header()
	if err := o.fresh(&h, now); err != nil {
		return nil, err
	}
	return &Message{Header: h, Body: p.Body, From: w.From, Signed: w.Payload, Digest: Digest(w.Payload)}, nil
}

func (o *Opener) fresh(h *Header, now time.Time) error {
	t := time.UnixMilli(h.Time)
	if t.Before(now.Add(-o.maxAge)) {
		return fmt.Errorf("%w: older than %v", ErrStale, o.maxAge)
	}
	if t.After(now.Add(o.maxSkew)) {
		return fmt.Errorf("%w: more than %v in the future", ErrStale, o.maxSkew)
	}
	return nil
}

// decrypt recovers the inner signed bytes. A session's Recipient context is
// cached only after a message under it authenticated, so a flood of random
// enc values costs the attacker's traffic our KEM time but cannot evict
// genuine sessions.
func (o *Opener) decrypt(w *anyWire) ([]byte, error) {
	var id [encLen]byte
	copy(id[:], w.Enc)
	r, cached := o.cache.get(id)
	if !cached {
		var err error
		r, err = hpke.NewRecipient(w.Enc, o.key, kdf, aead, []byte(hpkeInfo))
		if err != nil {
			return nil, fmt.Errorf("%w: kem", ErrDecrypt)
		}
	}
	m, err := messageAEAD(r, *w.Seq)
	if err != nil {
		return nil, fmt.Errorf("%w: derive key", ErrDecrypt)
	}
	ad, err := additionalData(w.From, w.Enc, *w.Seq)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	pt, err := m.Open(nil, zeroNonce[:], w.CT, ad)
	if err != nil {
		return nil, ErrDecrypt
	}
	if !cached {
		o.cache.put(id, r)
	}
	return pt, nil
}

// lenient reads only the version of a message that failed strict decoding,
// so that a future format is reported as ErrVersion rather than ErrMalformed.
var lenient = func() cbor.DecMode {
	m, err := cbor.DecOptions{MaxNestedLevels: 4, MaxArrayElements: 16, MaxMapPairs: 16}.DecMode()
	if err != nil {
		panic(err)
	}
	return m
}()

func decodeOuter(in []byte) (*anyWire, error) {
	var w anyWire
	if err := decMode.Unmarshal(in, &w); err != nil {
		var peek struct {
			V uint64 `cbor:"1,keyasint"`
		}
		if lenient.Unmarshal(in, &peek) == nil && peek.V != Version {
			return nil, fmt.Errorf("%w: %d", ErrVersion, peek.V)
		}
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if w.V != Version {
		return nil, fmt.Errorf("%w: %d", ErrVersion, w.V)
	}
	if !validFrom(w.From) {
		return nil, fmt.Errorf("%w: from length %d", ErrMalformed, len(w.From))
	}
	var canon any
	switch {
	case w.sealed() && w.Payload == nil:
		if len(w.Enc) != encLen || w.Seq == nil || len(w.CT) < tagLen {
			return nil, fmt.Errorf("%w: incomplete sealed message", ErrMalformed)
		}
		canon = &sealedWire{V: w.V, From: w.From, Enc: w.Enc, Seq: *w.Seq, CT: w.CT}
	case !w.sealed() && w.Payload != nil:
		canon = &plainWire{V: w.V, From: w.From, Payload: w.Payload}
	default:
		return nil, fmt.Errorf("%w: neither sealed nor plain", ErrMalformed)
	}
	again, err := encMode.Marshal(canon)
	if err != nil || !bytes.Equal(again, in) {
		return nil, fmt.Errorf("%w: not deterministic CBOR", ErrMalformed)
	}
	return &w, nil
}

// Package envelope implements A1.signed-messages, A1.replay-protection and
// A2.end-to-end-encryption: every USaPP message is signed by its origin
// (the meter, the head-end, a command issuer) and, where it crosses hops we do
// not trust (the bus, aggregators), encrypted to its final recipient.
//
// # Two steps, two keys
//
// The origin signs with Sign (COSE_Sign1, RFC 9052, EdDSA over Ed25519). The
// gateway, which holds no signing key of the meter, encrypts with a Session
// (HPKE, RFC 9180) to the recipient. The recipient's Opener decrypts,
// verifies and checks freshness. Signing proves who said it (and lets the
// head-end keep Message.Signed as evidence); encryption hides it from every
// hop between gateway and recipient. Replay detection is the caller's job on
// (Header.Sender, Header.Counter): the head-end deduplicates in its store, a
// store-less receiver uses ReplayWindow. Open only rejects messages outside
// the freshness window, which bounds how much history a receiver must track.
//
// What is not authenticated: the signature does not name the recipient, so a
// signed message can be re-sealed to anyone; receivers act on Header.Kind
// (and any addressee inside the body), never on how a message reached them.
// The outer from field is authenticated only as "whoever opened this HPKE
// session", which is anyone holding the recipient's public key: use it for
// routing and metrics, not for authorisation.
//
// # Throughput design
//
// A head-end must verify tens of thousands of messages per second on two
// cores. Two choices make that possible:
//
//   - Sessions amortise the KEM. A gateway runs one HPKE key encapsulation
//     per Session and seals many messages under it. Message seq of a session
//     is encrypted with AES-256-GCM under the one-time key
//     Export("usapp/v1 envelope key" || uint64be(seq), 32) and an all-zero
//     nonce, which is safe because no key is ever used twice. The recipient
//     caches HPKE contexts by enc in a bounded LRU; every message still
//     carries enc, so each is self-contained and a restarted recipient
//     simply refills its cache. A context enters the cache only after a
//     message under it authenticated.
//   - OpenBatch verifies signatures with Ed25519 batch verification
//     (github.com/oasisprotocol/curve25519-voi), with senders' public keys
//     kept decompressed and precomputed between messages. Open and OpenBatch
//     apply the same validation rules (voi's defaults: no small-order keys,
//     canonical encodings only, so signatures are strongly binding), so a
//     message is accepted by one exactly when it is accepted by the other.
//
// # Wire format, version 1 (public contract)
//
// All CBOR (RFC 8949) is in the core deterministic encoding (§4.2.1):
// shortest integers and lengths, definite lengths, map keys sorted,
// no tags except where stated. Decoders are strict: they reject unknown map
// keys, missing keys, duplicate keys, indefinite lengths, tags, invalid UTF-8,
// trailing bytes and any non-deterministic encoding, so every accepted
// message has exactly one encoding. Unknown keys are rejected rather than
// ignored because a signature over fields a verifier skips is a way to
// smuggle data; new fields need a new version. Sizes: a whole message is at
// most MaxSealedSize (64 KiB), Kind 1..64 bytes, from 1..128 bytes.
//
// Payload (the content signed by the origin), a map:
//
//	{1: v uint (1), 2: kind tstr, 3: sender tstr (LFDI, 40 upper-case hex),
//	 4: counter uint, 5: time int (Unix ms at signing), 6: body bstr}
//
// Signed: a tagged COSE_Sign1, and exactly this layout:
//
//	18([h'A10127' (protected {1: -8}, alg EdDSA), {} (no unprotected headers),
//	    payload bstr, signature bstr (64 bytes)])
//
// signed over the Sig_structure ["Signature1", h'A10127', external_aad,
// payload] with an empty external_aad.
// Any other protected or unprotected header is rejected.
//
// Sealed, a map:
//
//	{1: v uint (1), 2: from tstr (route, e.g. the gateway's LFDI),
//	 3: enc bstr (32, HPKE encapsulated key), 4: seq uint, 5: ct bstr}
//
// HPKE suite: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, export-only AEAD,
// mode base, info "usapp/v1 envelope session". ct = AES-256-GCM(key, nonce
// 12 zero bytes, plaintext = Signed, aad = the deterministic encoding of
// {1: v, 2: from, 3: enc, 4: seq}), key as above.
//
// Plain (protection off, for baselines and deliberately unprotected
// deployments), a map:
//
//	{1: v uint (1), 2: from tstr, 6: payload bstr}
//
// A secure Opener rejects plain messages (ErrPlainRejected); a plain Opener
// rejects sealed ones (ErrNotPlain). testdata/vectors-v1.json holds stored
// messages with their keys; TestVectors fails if this format drifts.
//
// # Errors
//
// Every rejection matches one sentinel (ErrMalformed, ErrTooLarge,
// ErrVersion, ErrDecrypt, ErrBadSignature, ErrUnknownSender, ErrStale,
// ErrReplay, ErrPlainRejected, ErrNotPlain); Reason turns it into a stable
// code for metrics. Error strings carry no keys, bodies or readings.
//
// # Concurrency
//
// Session, Opener and ReplayWindow are safe for concurrent use. A Session's
// sequence numbers come from an atomic counter; callers of SealAt must never
// reuse a seq within a session.
package envelope

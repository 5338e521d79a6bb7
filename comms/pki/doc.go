// Package pki implements A1.enrolment, A1.certificate-rotation and
// A1.revocation: the USaPP certificate authority, one-time enrolment tokens,
// certificate rotation, revocation lists and the identity check every service
// runs on the certificates it is shown.
//
// # Model
//
// One root CA with an ECDSA P-256 key signs end-entity certificates directly
// (no intermediates; the root has MaxPathLen 0). Devices and services hold
// Ed25519 keys so that downstream consumers can batch-verify their
// signatures, but the CA signs any public key crypto/x509 can encode (Ed25519,
// ECDSA, RSA), because the key type is the device's business, not the CA's.
//
// A certificate carries exactly one Subject OrganizationalUnit, the party's
// Role, and its CommonName as the party's Name. A meter certificate may be
// bound to its home gateway by a URI SAN "urn:usapp:gateway:<LFDI>".
// The identity of a certificate is its LFDI as defined by IEEE 2030.5
// (section 6.3.4): the leftmost 160 bits of SHA-256 over the DER
// certificate, written as 40 upper-case hexadecimal characters.
//
// # Enrolment (A1.enrolment)
//
// An operator creates a one-time token with [CA.NewToken] that fixes the
// role, the name and the gateway binding of the device to be enrolled. The
// device sends a PKCS#10 request and the token to [CA.Enroll]. The CA checks
// the request's self-signature (proof of possession) before it consumes the
// token, so a malformed request does not burn a token; everything the
// certificate says about the holder comes from the token, never from the
// request, so a device cannot promote itself to head-end. Only the SHA-256 of
// a token is stored: a stolen state file does not enrol anything. A token is
// consumed atomically by [State.ConsumeToken]: of two concurrent enrolments
// with the same token exactly one succeeds, the other gets [ErrTokenUsed].
// If issuance fails after the token was consumed, the token stays consumed
// (fail closed): the operator issues a new one.
//
// # Rotation (A1.certificate-rotation)
//
// [CA.Renew] issues a fresh certificate with the same role, name, binding and
// host names to the holder of a currently valid, unrevoked certificate of
// this CA, for a new key if the holder wishes. [NeedsRotation] tells a holder
// when to do so: in the last 20% of the validity period. The old certificate
// stays valid until it expires or is revoked.
//
// # Revocation (A1.revocation)
//
// [CA.Revoke] records a serial in the [State]; [CA.CRL] signs the list as an
// X.509 CRL valid for 24 hours, without the certificates that expired more
// than [CRLKeepsExpired] ago (an expired certificate fails verification
// anyway; RFC 5280 §3.3 lets its entry go once a CRL issued after its expiry
// has carried it). Relying parties hold a [Verifier],
// feed it fresh CRLs with [Verifier.SetCRL] and check every certificate with
// [Verifier.Verify]. A Verifier never forgets a revocation on its own: a
// stale CRL keeps applying until a newer one arrives, and a CRL older than
// the one installed is refused (rollback protection). [Verifier.Revision]
// moves when the revoked set changes, so that what re-checks certificates
// it accepted earlier (the bus's open connections) knows when to.
//
// # State and I/O
//
// The package is a domain package and does no network I/O. The CA's memory
// across restarts (token hashes, the serial counter, revocations, the
// issuance record) is a [State], which must be durable before a certificate
// or token is handed out. comms/pki/dbstate keeps it in SQLite or PostgreSQL
// (the CA role's default); [OpenFileState] keeps it in one JSON file, which
// it rewrites at each change and so suits small CAs only, and
// [DecodeStateFile] reads such a file for an import. comms/pki/pkitest
// holds every State to the same contract.
//
// [CA.Controls] reports the three controls and their parameters for a
// role's GET /controls answer.
//
// # Concurrency
//
// [CA] and [Verifier] are safe for concurrent use. The exported
// configuration fields CA.DeviceValidity and CA.ServiceValidity must be set
// before the CA is shared.
// [NewMemState] and [OpenFileState] return concurrency-safe states; the file
// state assumes a single writing process.
package pki

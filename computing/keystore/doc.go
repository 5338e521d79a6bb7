// Package keystore implements B1.keys-at-rest: private keys are never written
// in clear.
//
// # Format
//
// A store is a directory. keystore.json holds the scrypt parameters
// (N=2^15, r=8, p=1; Percival and Josefsson, RFC 7914), a random 32-byte salt
// and a key-check value, HMAC-SHA-256 under the derived key of a fixed label,
// which tells a wrong passphrase from a damaged key file. [Open] derives the
// 256-bit key-encryption key (KEK) once; every key then lives in
// <name>.key:
//
//	"USKS" | version 1 | 12-byte random nonce | AES-256-GCM(KEK, PKCS#8 DER)
//
// The additional data of the AEAD is the header plus the key's name, so a
// file renamed to another key's name, or edited in any byte, fails with
// [ErrCorrupt] instead of yielding a different key. With random 96-bit
// nonces one KEK seals far fewer than the 2^32 messages NIST SP 800-38D
// allows.
//
// # Files
//
// The directory is 0700, every file 0600. Files are written to a temporary
// name, fsynced, then linked into place; linking refuses to replace an
// existing key, so [FileStore.Put] never overwrites a key even across
// processes, and a crash never leaves a half-written key. Plaintext PKCS#8
// buffers are zeroed after use (best effort: Go may have copied them).
//
// # Interface
//
// [Keystore] is the small interface roles depend on, so that a PKCS#11 token
// can replace the file store without touching them. Supported key types are
// ed25519.PrivateKey, *ecdsa.PrivateKey and *ecdh.PrivateKey on X25519 (for
// HPKE).
//
// # Concurrency
//
// A FileStore is safe for concurrent use; several processes may share a
// directory (Put is atomic and exclusive).
package keystore

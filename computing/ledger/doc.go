// Package ledger implements B3.integrity-feedback: the utility feeds back an
// integrity check Y of the billing data X it received, and the home compares
// Y with its own copy of X, so that X never has to travel back over an
// untrusted network.
//
// # Design
//
// The integrity check is a transparency log: an append-only Merkle tree as
// specified by RFC 6962 (section 2.1), built with golang.org/x/mod/sumdb/tlog.
// The head-end appends every billing record it accepts and answers with a
// [Receipt]: a signed checkpoint of the tree and an inclusion proof of the
// record. The gateway checks the receipt against the record it spooled
// ([VerifyReceipt]) and, with a [Witness], checks that every checkpoint it sees
// extends the previous one (RFC 6962 section 2.1.2 consistency proofs). A
// utility that later drops, rewrites or forks the billing history is caught by
// any gateway that kept a checkpoint.
//
// Checkpoints use the C2SP tlog-checkpoint text format (origin line, decimal
// tree size, base64 root hash, each ending in a newline), signed as a
// golang.org/x/mod/sumdb/note with Ed25519. [NewSigner] and [NewVerifier] wrap
// an existing Ed25519 key, typically the head-end's key from the keystore.
// The root of the empty tree is SHA-256 of the empty string (RFC 6962).
//
// # Persistence
//
// The package does no I/O. A [Log] keeps every stored hash in memory: about
// two 32-byte hashes per record, so 64 B per record (1 GiB per 16 M records);
// serving from tlog tiles on disk is future work. The caller persists:
// [Log.Prepare] computes the new stored hashes without changing the log, the
// caller writes [Pending.Hashes] in the same database transaction as the
// readings, then calls [Log.Commit] (or [Log.Abort] when the transaction
// failed). [Restore] rebuilds a log from the persisted hashes and checks them.
//
// # Concurrency
//
// A Log is safe for concurrent use. Proofs and checkpoints read a snapshot of
// the append-only hash slice and do not block appends. At most one Pending is
// open at a time; a second Prepare fails with [ErrPendingOpen]. A Witness is
// safe for concurrent use.
package ledger

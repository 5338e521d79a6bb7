package ledger

import (
	"errors"
	"fmt"
	"sort"
	"sync"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Errors returned by the log.
var (
	ErrPendingOpen = errors.New("ledger: another append is pending")
	ErrNotPending  = errors.New("ledger: append is not the pending one")
	ErrCorrupt     = errors.New("ledger: stored hashes are inconsistent")
	ErrRange       = errors.New("ledger: index or size out of range")
	ErrBadOrigin   = errors.New("ledger: invalid origin")
)

// Log is an in-memory RFC 6962 Merkle tree of billing records whose
// persistence is left to the caller. See the package documentation.
type Log struct {
	origin string
	signer note.Signer

	mu      sync.RWMutex
	hashes  []tlog.Hash // stored hashes, tlog storage order; append-only
	size    int64
	pending *Pending

	cpMu   sync.Mutex
	cpSize int64
	cpNote []byte // signed checkpoint for cpSize, shared by every receipt at that size
}

// Pending is an append computed by [Log.Prepare] but not yet applied.
type Pending struct {
	Start     int64       // index of the first new record
	Hashes    []tlog.Hash // new stored hashes to persist, in order
	StartHash int64       // stored-hash index of Hashes[0]
	Count     int64       // number of records appended
	Root      tlog.Hash   // tree hash after the append

	log *Log
}

// New returns an empty log. The origin names the log in its checkpoints
// (a schema-less URL such as "utility.example/billing").
func New(origin string, signer note.Signer) *Log {
	return &Log{origin: origin, signer: signer, cpSize: -1}
}

// Restore rebuilds a log from the stored hashes persisted from earlier
// [Pending] values, in order. It checks that their count matches a tree size
// and recomputes every interior hash from the record hashes, so a truncated
// or altered store fails with [ErrCorrupt]. Cost: one SHA-256 per stored hash.
// Hashes alone cannot show that whole trailing records were lost (that is a
// valid shorter log): compare [Log.Root] with the last checkpoint persisted.
func Restore(origin string, signer note.Signer, stored []tlog.Hash) (*Log, error) {
	total := int64(len(stored))
	n := int64(sort.Search(len(stored)+1, func(i int) bool {
		return tlog.StoredHashCount(int64(i)) >= total
	}))
	if tlog.StoredHashCount(n) != total {
		return nil, fmt.Errorf("%w: %d hashes match no tree size", ErrCorrupt, total)
	}
	rebuilt := make([]tlog.Hash, 0, total)
	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) { return readHashes(rebuilt, nil, idx) })
	for i := int64(0); i < n; i++ {
		leaf := stored[tlog.StoredHashIndex(0, i)]
		hs, err := tlog.StoredHashesForRecordHash(i, leaf, reader)
		if err != nil {
			return nil, fmt.Errorf("%w: record %d: %w", ErrCorrupt, i, err)
		}
		rebuilt = append(rebuilt, hs...)
	}
	for i := range rebuilt {
		if rebuilt[i] != stored[i] {
			return nil, fmt.Errorf("%w: stored hash %d differs", ErrCorrupt, i)
		}
	}
	l := New(origin, signer)
	l.hashes, l.size = rebuilt, n
	return l, nil
}

// readHashes serves tlog from base followed by extra, by stored-hash index.
func readHashes(base, extra []tlog.Hash, idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	nb := int64(len(base))
	for i, x := range idx {
		switch {
		case x >= 0 && x < nb:
			out[i] = base[x]
		case x >= nb && x-nb < int64(len(extra)):
			out[i] = extra[x-nb]
		default:
			return nil, fmt.Errorf("%w: stored hash %d", ErrRange, x)
		}
	}
	return out, nil
}

// Size returns the number of committed records.
func (l *Log) Size() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.size
}

// snapshot returns the committed hashes and size; the slice is never
// mutated below its length, so it can be read without the lock.
func (l *Log) snapshot() ([]tlog.Hash, int64) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.hashes, l.size
}

// Prepare computes the stored hashes for appending records without changing
// the log. Only one append may be pending; finish it with Commit or Abort.
func (l *Log) Prepare(records [][]byte) (*Pending, error) {
	l.mu.Lock()
	if l.pending != nil {
		l.mu.Unlock()
		return nil, ErrPendingOpen
	}
	p := &Pending{Start: l.size, StartHash: int64(len(l.hashes)), Count: int64(len(records)), log: l}
	l.pending = p
	base := l.hashes
	l.mu.Unlock()

	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) { return readHashes(base, p.Hashes, idx) })
	for i, rec := range records {
		hs, err := tlog.StoredHashes(p.Start+int64(i), rec, reader)
		if err != nil {
			l.Abort(p)
			return nil, fmt.Errorf("ledger: prepare: %w", err)
		}
		p.Hashes = append(p.Hashes, hs...)
	}
	root, err := tlog.TreeHash(p.Start+p.Count, reader)
	if err != nil {
		l.Abort(p)
		return nil, fmt.Errorf("ledger: prepare: %w", err)
	}
	p.Root = root
	return p, nil
}

// Commit applies a prepared append, after the caller has persisted p.Hashes.
func (l *Log) Commit(p *Pending) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if p == nil || l.pending != p {
		return ErrNotPending
	}
	l.hashes = append(l.hashes, p.Hashes...)
	l.size += p.Count
	l.pending = nil
	return nil
}

// Abort discards a prepared append; it is a no-op for any other value.
func (l *Log) Abort(p *Pending) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if p != nil && l.pending == p {
		l.pending = nil
	}
}

// Root returns the tree hash of the first size records.
func (l *Log) Root(size int64) (tlog.Hash, error) {
	hs, n := l.snapshot()
	if size < 0 || size > n {
		return tlog.Hash{}, ErrRange
	}
	return tlog.TreeHash(size, hashReader(hs))
}

func hashReader(hs []tlog.Hash) tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) { return readHashes(hs, nil, idx) })
}

// Checkpoint returns a signed checkpoint of the current tree. Checkpoints are
// cached per size, so the receipts of one batch share one signature.
func (l *Log) Checkpoint() ([]byte, error) {
	hs, n := l.snapshot()
	return l.checkpointAt(hs, n)
}

func (l *Log) checkpointAt(hs []tlog.Hash, n int64) ([]byte, error) {
	l.cpMu.Lock()
	defer l.cpMu.Unlock()
	if l.cpSize == n {
		return l.cpNote, nil
	}
	root, err := tlog.TreeHash(n, hashReader(hs))
	if err != nil {
		return nil, fmt.Errorf("ledger: checkpoint: %w", err)
	}
	signed, err := SignCheckpoint(Checkpoint{Origin: l.origin, Size: n, Hash: root}, l.signer)
	if err != nil {
		return nil, err
	}
	l.cpSize, l.cpNote = n, signed
	return signed, nil
}

// Prove returns the inclusion proof of record index in the tree of size size.
func (l *Log) Prove(index, size int64) (tlog.RecordProof, error) {
	hs, n := l.snapshot()
	if index < 0 || index >= size || size > n {
		return nil, ErrRange
	}
	return tlog.ProveRecord(size, index, hashReader(hs))
}

// ProveConsistency returns the proof that the tree of size newSize extends
// the tree of size oldSize. The proof from an empty tree is empty.
func (l *Log) ProveConsistency(oldSize, newSize int64) (tlog.TreeProof, error) {
	hs, n := l.snapshot()
	if oldSize < 0 || oldSize > newSize || newSize > n {
		return nil, ErrRange
	}
	if oldSize == 0 {
		return tlog.TreeProof{}, nil
	}
	return tlog.ProveTree(newSize, oldSize, hashReader(hs))
}

// Receipts returns receipts for the records [start, start+count) against one
// checkpoint of the current tree, as the head-end answers a batch.
func (l *Log) Receipts(start, count int64) ([]Receipt, error) {
	hs, n := l.snapshot()
	if start < 0 || count < 0 || start+count > n {
		return nil, ErrRange
	}
	cp, err := l.checkpointAt(hs, n)
	if err != nil {
		return nil, err
	}
	r := hashReader(hs)
	out := make([]Receipt, count)
	for i := range out {
		idx := start + int64(i)
		proof, err := tlog.ProveRecord(n, idx, r)
		if err != nil {
			return nil, fmt.Errorf("ledger: receipt %d: %w", idx, err)
		}
		out[i] = Receipt{Index: idx, Leaf: hs[tlog.StoredHashIndex(0, idx)], Checkpoint: cp, Proof: proof}
	}
	return out, nil
}

// RecordHash returns the RFC 6962 leaf hash of a record.
func RecordHash(record []byte) tlog.Hash { return tlog.RecordHash(record) }

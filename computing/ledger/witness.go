package ledger

import (
	"errors"
	"fmt"
	"sync"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// ErrInconsistent reports a checkpoint that does not provably extend the
// latest one: a fork (same size, other root, or a failing proof) or a
// rollback (smaller size).
var ErrInconsistent = errors.New("ledger: checkpoint inconsistent with latest")

// Witness is what a gateway keeps to check that the checkpoints it sees form
// one append-only history: no fork, no rollback. Only accepted checkpoints
// replace the latest one.
type Witness struct {
	v      note.Verifier
	origin string

	mu     sync.Mutex
	latest Checkpoint
	seen   bool
}

// NewWitness returns a witness for the log named origin, signed by v.
func NewWitness(v note.Verifier, origin string) *Witness {
	return &Witness{v: v, origin: origin}
}

// Latest returns the newest accepted checkpoint, if any.
func (w *Witness) Latest() (Checkpoint, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.latest, w.seen
}

// ObserveNote verifies a signed checkpoint and observes it.
func (w *Witness) ObserveNote(signedNote []byte, proof tlog.TreeProof) (Checkpoint, error) {
	c, err := ParseCheckpoint(signedNote, w.v)
	if err != nil {
		return Checkpoint{}, err
	}
	return c, w.Observe(c, proof)
}

// Observe accepts c if it extends the latest checkpoint: proof is the
// consistency proof from the latest size to c.Size. The first checkpoint and
// one equal to the latest need no proof; so does growth from an empty tree.
// c must already be verified (see [ParseCheckpoint] or ObserveNote).
func (w *Witness) Observe(c Checkpoint, proof tlog.TreeProof) error {
	if c.Origin != w.origin {
		return fmt.Errorf("%w: unexpected origin", ErrBadCheckpoint)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.check(c, proof); err != nil {
		return err
	}
	w.latest, w.seen = c, true
	return nil
}

func (w *Witness) check(c Checkpoint, proof tlog.TreeProof) error {
	old := w.latest
	switch {
	case !w.seen:
		return nil
	case c.Size < old.Size:
		return fmt.Errorf("%w: rollback from %d to %d", ErrInconsistent, old.Size, c.Size)
	case c.Size == old.Size:
		if c.Hash != old.Hash {
			return fmt.Errorf("%w: fork at size %d", ErrInconsistent, c.Size)
		}
		return nil
	case old.Size == 0:
		return nil
	}
	if len(proof) > maxProof*2 {
		return fmt.Errorf("%w: proof too long", ErrInconsistent)
	}
	if err := tlog.CheckTree(proof, c.Size, c.Hash, old.Size, old.Hash); err != nil {
		return fmt.Errorf("%w: %d to %d: %w", ErrInconsistent, old.Size, c.Size, err)
	}
	return nil
}

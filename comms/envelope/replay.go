package envelope

import (
	"fmt"
	"sync"
)

// DefaultReplayWindow is the number of counters below the highest one seen
// that a ReplayWindow still tracks individually.
const DefaultReplayWindow = 1024

// ReplayWindow rejects repeated (sender, counter) pairs for receivers that
// keep no store, such as a gateway receiving commands and receipts. Per
// sender it keeps the highest counter accepted and a bitmap of the size
// counters below it, as IPsec's anti-replay window does (RFC 4303 §3.4.3):
// reordering within the window is accepted, duplicates and anything older
// than the window are refused.
//
// Feed it only messages whose signature has been verified: senders are then
// authenticated, so the per-sender map cannot be grown by forgeries. State
// lives in memory; after a restart the freshness window (OpenerConfig.MaxAge)
// is what bounds replays, so receivers that restart should persist the
// highest counter per sender. A ReplayWindow is safe for concurrent use.
type ReplayWindow struct {
	mu      sync.Mutex
	size    uint64
	senders map[string]*replayState
}

type replayState struct {
	highest uint64
	seen    []uint64 // ring bitmap: bit (c mod size) is set when c was accepted
}

// NewReplayWindow returns a window tracking size counters per sender
// (rounded up to a multiple of 64; size <= 0 means DefaultReplayWindow).
func NewReplayWindow(size int) *ReplayWindow {
	if size <= 0 {
		size = DefaultReplayWindow
	}
	words := (size + 63) / 64
	return &ReplayWindow{size: uint64(words * 64), senders: make(map[string]*replayState)}
}

// Check reports ErrReplay if counter was already accepted for sender or lies
// below the window. It records nothing.
func (w *ReplayWindow) Check(sender string, counter uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.check(w.senders[sender], counter)
}

// Accept is Check followed, on success, by recording counter, atomically.
func (w *ReplayWindow) Accept(sender string, counter uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.senders[sender]
	if err := w.check(st, counter); err != nil {
		return err
	}
	if st == nil {
		st = &replayState{highest: counter, seen: make([]uint64, w.size/64)}
		w.senders[sender] = st
	} else if counter > st.highest {
		w.advance(st, counter)
	}
	w.mark(st, counter)
	return nil
}

func (w *ReplayWindow) check(st *replayState, counter uint64) error {
	if st == nil || counter > st.highest {
		return nil
	}
	if st.highest-counter >= w.size {
		return fmt.Errorf("%w: counter below window", ErrReplay)
	}
	if w.marked(st, counter) {
		return fmt.Errorf("%w: counter already seen", ErrReplay)
	}
	return nil
}

// advance slides the window up to counter, forgetting the slots that now
// stand for counters not yet seen.
func (w *ReplayWindow) advance(st *replayState, counter uint64) {
	if counter-st.highest >= w.size {
		clear(st.seen)
	} else {
		// Count steps rather than compare counters: counter may be MaxUint64.
		for n := counter - st.highest; n > 0; n-- {
			slot := (st.highest + n) % w.size
			st.seen[slot/64] &^= 1 << (slot % 64)
		}
	}
	st.highest = counter
}

func (w *ReplayWindow) mark(st *replayState, c uint64) {
	slot := c % w.size
	st.seen[slot/64] |= 1 << (slot % 64)
}

func (w *ReplayWindow) marked(st *replayState, c uint64) bool {
	slot := c % w.size
	return st.seen[slot/64]&(1<<(slot%64)) != 0
}

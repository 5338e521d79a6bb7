package envelope

import (
	"math"
	"sync"
	"sync/atomic"
	"testing"

	"pgregory.net/rapid"
)

func TestReplayWindow(t *testing.T) {
	w := NewReplayWindow(1024)
	const a, b = "sender-a", "sender-b"
	accept := func(s string, c uint64) {
		t.Helper()
		if err := w.Accept(s, c); err != nil {
			t.Fatalf("Accept(%s, %d): %v", s, c, err)
		}
	}
	refuse := func(s string, c uint64) {
		t.Helper()
		wantErr(t, w.Accept(s, c), ErrReplay)
		wantErr(t, w.Check(s, c), ErrReplay)
	}
	accept(a, 100)
	refuse(a, 100) // duplicate
	accept(a, 98)  // out of order, within window
	accept(a, 99)
	refuse(a, 98)
	accept(b, 98) // counters are per sender
	accept(a, 2000)
	refuse(a, 2000-1024) // fell out of the window
	accept(a, 2000-1023) // oldest still tracked
	refuse(a, 2000-1023)
	refuse(a, 99) // was seen, now also too old

	// Check records nothing.
	if err := w.Check(a, 1990); err != nil {
		t.Fatal(err)
	}
	accept(a, 1990)

	// Slots reused by the ring must not remember counters from a lap ago:
	// 2000+1024 shares a slot with 2000.
	accept(a, 2000+1024)
	accept(a, 2000+1023)
	refuse(a, 2000+1024)

	// The top of the counter space does not wrap around.
	accept(a, math.MaxUint64-5)
	accept(a, math.MaxUint64)
	refuse(a, math.MaxUint64)
	accept(a, math.MaxUint64-1)
	refuse(a, math.MaxUint64-5)
}

func TestReplayWindowConcurrentAcceptOnce(t *testing.T) {
	w := NewReplayWindow(0)
	var ok atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for c := range uint64(200) {
				if w.Accept("s", c) == nil {
					ok.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if ok.Load() != 200 {
		t.Fatalf("%d acceptances of 200 distinct counters", ok.Load())
	}
}

// TestReplayWindowModel checks the window against a plain set of every
// counter ever accepted: inside the window the two must agree exactly, and
// nothing below the window is ever accepted.
func TestReplayWindowModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		size := rapid.SampledFrom([]int{64, 128, 1024}).Draw(t, "size")
		w := NewReplayWindow(size)
		seen := map[uint64]bool{}
		var highest uint64
		for i := range rapid.IntRange(1, 300).Draw(t, "n") {
			base := highest
			c := base - min(base, rapid.Uint64Range(0, uint64(2*size)).Draw(t, "back"))
			if rapid.Bool().Draw(t, "forward") {
				c = base + rapid.Uint64Range(0, uint64(2*size)).Draw(t, "ahead")
			}
			err := w.Accept("s", c)
			tooOld := i > 0 && c+uint64(size) <= highest
			want := !seen[c] && !tooOld
			if (err == nil) != want {
				t.Fatalf("Accept(%d) with highest %d: err %v, want accepted=%v", c, highest, err, want)
			}
			if err == nil {
				seen[c] = true
				highest = max(highest, c)
			}
		}
	})
}

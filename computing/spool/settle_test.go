package spool_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/usapp/usapp/computing/spool"
)

// A reading is settled once: a second receipt or a rejection after a
// receipt changes nothing and says so, so a gateway never counts it twice.
func TestSettleOnce(t *testing.T) {
	ctx := context.Background()
	s, err := spool.Open(filepath.Join(t.TempDir(), "s.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := uint64(1); i <= 2; i++ {
		if err := s.Put(ctx, spool.Entry{Gateway: "gw", Meter: "m", Counter: i, Sealed: []byte{1}, Record: []byte{2}}); err != nil {
			t.Fatal(err)
		}
	}
	a := spool.Key{Meter: "m", Counter: 1}
	if first, err := s.Ack(ctx, "gw", a, []byte("r1")); err != nil || !first {
		t.Fatalf("first ack: %v %v", first, err)
	}
	if first, err := s.Ack(ctx, "gw", a, []byte("r2")); err != nil || first {
		t.Fatalf("second ack: %v %v", first, err)
	}
	if first, err := s.Reject(ctx, "gw", a, "replay"); err != nil || first {
		t.Fatalf("reject after ack: %v %v", first, err)
	}
	if e, _ := s.Get(ctx, "gw", a); string(e.Receipt) != "r1" || e.Rejected != "" {
		t.Fatalf("entry changed: %+v", e)
	}
	b := spool.Key{Meter: "m", Counter: 2}
	if first, err := s.Reject(ctx, "gw", b, "bad_signature"); err != nil || !first {
		t.Fatalf("reject: %v %v", first, err)
	}
	if e, _ := s.Get(ctx, "gw", b); !e.Acked || e.Rejected != "bad_signature" {
		t.Fatalf("rejected entry %+v", e)
	}
	if n, _ := s.Pending(ctx, "gw"); n != 0 {
		t.Fatalf("%d pending after settling both", n)
	}
	if _, err := s.Reject(ctx, "gw", spool.Key{Meter: "x"}, "r"); err != spool.ErrNotFound {
		t.Fatalf("unknown key: %v", err)
	}
}

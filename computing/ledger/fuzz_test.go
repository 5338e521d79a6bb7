package ledger_test

import (
	"errors"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/usapp/usapp/computing/ledger"
)

func FuzzParseCheckpoint(f *testing.F) {
	k := testKeys(f, 1)
	l := ledger.New(origin, k.signer)
	appendAll(f, l, records(5), 5)
	cp, err := l.Checkpoint()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(cp)
	f.Add([]byte(origin + "\n5\nAAAA\n\n— " + origin + " AAAA\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ledger.ParseCheckpoint(data, k.verifier)
		if err != nil {
			if !errors.Is(err, ledger.ErrBadCheckpoint) {
				t.Fatalf("error not ErrBadCheckpoint: %v", err)
			}
			return
		}
		// Only notes signed by k can parse; re-signing must reproduce the body.
		again, err := ledger.SignCheckpoint(c, k.signer)
		if err != nil {
			t.Fatal(err)
		}
		if c2, err := ledger.ParseCheckpoint(again, k.verifier); err != nil || c2 != c {
			t.Fatalf("re-signed checkpoint %+v: %v", c2, err)
		}
	})
}

func FuzzDecodeReceipt(f *testing.F) {
	k := testKeys(f, 1)
	l := ledger.New(origin, k.signer)
	recs := records(13)
	appendAll(f, l, recs, 13)
	rs, err := l.Receipts(0, 13)
	if err != nil {
		f.Fatal(err)
	}
	for _, r := range rs[:3] {
		b, _ := cbor.Marshal(r)
		f.Add(b)
	}
	f.Add([]byte{0xa0})
	f.Add([]byte{0x9f, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ledger.DecodeReceipt(data)
		if err != nil {
			if !errors.Is(err, ledger.ErrMalformed) {
				t.Fatalf("error not ErrMalformed: %v", err)
			}
			return
		}
		if len(r.Proof) > 64 {
			t.Fatalf("proof of %d hashes accepted", len(r.Proof))
		}
		b, err := cbor.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := ledger.DecodeReceipt(b)
		if err != nil || r2.Index != r.Index || r2.Leaf != r.Leaf || len(r2.Proof) != len(r.Proof) {
			t.Fatalf("round trip: %v", err)
		}
		// Whatever decodes must never verify for a record it was not made for.
		if r.Index < int64(len(recs)) {
			if _, err := ledger.VerifyReceipt(k.verifier, origin, []byte("not a logged record"), r); err == nil {
				t.Fatal("decoded receipt verified for an unlogged record")
			}
		}
	})
}

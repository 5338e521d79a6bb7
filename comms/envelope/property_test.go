package envelope

import (
	"bytes"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// TestPropertyRoundTrip: any header and body Sign accepts comes back
// unchanged, through Open and through OpenBatch.
func TestPropertyRoundTrip(t *testing.T) {
	f := newFixture(t, 3)
	rapid.Check(t, func(t *rapid.T) {
		m := rapid.IntRange(0, 2).Draw(t, "meter")
		h := Header{
			Kind:    rapid.StringMatching(`[a-z_]{1,64}`).Draw(t, "kind"),
			Sender:  f.meters[m].lfdi,
			Counter: rapid.Uint64().Draw(t, "counter"),
			Time:    testNow.Add(-time.Duration(rapid.Int64Range(0, int64(DefaultMaxAge/time.Millisecond)).Draw(t, "age")) * time.Millisecond).UnixMilli(),
		}
		body := rapid.SliceOfN(rapid.Byte(), 0, 2048).Draw(t, "body")
		signed, err := Sign(f.meters[m].key, h, body)
		if err != nil {
			t.Fatal(err)
		}
		sealed, err := f.session.Seal(signed)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := f.opener.Open(sealed, testNow)
		if err != nil {
			t.Fatal(err)
		}
		h.V = Version
		if msg.Header != h || !bytes.Equal(msg.Body, body) || !bytes.Equal(msg.Signed, signed) {
			t.Fatalf("round trip changed the message: %+v", msg.Header)
		}
		res := f.opener.OpenBatch([][]byte{sealed, sealed}, testNow)
		if res[0].Err != nil || res[1].Msg.Digest != msg.Digest {
			t.Fatalf("batch: %v", res[0].Err)
		}
	})
}

// TestPropertyBitFlip: flipping any one bit of a sealed message makes Open
// fail, whatever the message.
func TestPropertyBitFlip(t *testing.T) {
	f := newFixture(t, 1)
	rapid.Check(t, func(t *rapid.T) {
		body := rapid.SliceOfN(rapid.Byte(), 0, 256).Draw(t, "body")
		sealed := f.message(t, 0, rapid.Uint64().Draw(t, "counter"), body)
		bit := rapid.IntRange(0, 8*len(sealed)-1).Draw(t, "bit")
		flipped := bytes.Clone(sealed)
		flipped[bit/8] ^= 1 << (bit % 8)
		if msg, err := f.opener.Open(flipped, testNow); err == nil {
			t.Fatalf("bit %d flipped and still accepted: %+v", bit, msg.Header)
		}
	})
}

// TestEveryBitFlipRejected is the exhaustive version for one message: every
// bit of the outer header, enc, seq and ciphertext is covered.
func TestEveryBitFlipRejected(t *testing.T) {
	f := newFixture(t, 1)
	sealed := f.message(t, 0, 1, []byte("kWh=12.5"))
	if _, err := f.opener.Open(sealed, testNow); err != nil {
		t.Fatal(err)
	}
	batch := make([][]byte, 0, 8*len(sealed))
	for bit := range 8 * len(sealed) {
		flipped := bytes.Clone(sealed)
		flipped[bit/8] ^= 1 << (bit % 8)
		batch = append(batch, flipped)
	}
	for bit, r := range f.opener.OpenBatch(batch, testNow) {
		if r.Err == nil {
			t.Fatalf("bit %d flipped and still accepted", bit)
		}
	}
}

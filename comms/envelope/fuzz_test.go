package envelope

import (
	"bytes"
	"testing"
)

// classified fails unless err is nil or one of the package's rejection
// classes: hostile input must never surface as an unexplained error.
func classified(t *testing.T, err error) {
	t.Helper()
	if err != nil && Reason(err) == "internal" {
		t.Fatalf("unclassified error: %v", err)
	}
}

func FuzzOpen(f *testing.F) {
	fx := newFixture(f, 2)
	good := fx.message(f, 0, 1, []byte("kWh=12.5"))
	f.Add(good)
	f.Add(fx.message(f, 1, 2, nil))
	f.Add(good[:len(good)/2])
	f.Add(append(bytes.Clone(good), 0))
	plain, err := EncodePlain("gw", fx.header(0, 1), []byte("x"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(plain)
	for _, s := range malformedSigned(f, fx) {
		f.Add(fx.seal(f, s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		msg, err := fx.opener.Open(in, testNow)
		classified(t, err)
		res := fx.opener.OpenBatch([][]byte{in}, testNow)
		if Reason(res[0].Err) != Reason(err) {
			t.Fatalf("Open %v, OpenBatch %v", err, res[0].Err)
		}
		if err != nil {
			return
		}
		if msg.Digest != Digest(msg.Signed) || res[0].Msg.Digest != msg.Digest {
			t.Fatal("digest does not identify the signed bytes")
		}
		if _, err := decodeSigned(msg.Signed); err != nil {
			t.Fatalf("accepted inner message does not decode again: %v", err)
		}
	})
}

func FuzzDecodeSigned(f *testing.F) {
	fx := newFixture(f, 1)
	f.Add(fx.sign(f, 0, 1, []byte("body")))
	f.Add(fx.sign(f, 0, 1<<40, make([]byte, 300)))
	for _, s := range malformedSigned(f, fx) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		sm, err := decodeSigned(in)
		classified(t, err)
		if err != nil {
			return
		}
		// One encoding per message: what we accepted is what we would write.
		pl, err := encodePayload(sm.p.header(), sm.p.Body)
		if err != nil {
			t.Fatalf("accepted payload does not encode: %v", err)
		}
		if !bytes.Equal(canonicalSign1(pl, sm.sig), in) {
			t.Fatal("accepted a non-canonical encoding")
		}
	})
}

func FuzzPlain(f *testing.F) {
	fx := newFixture(f, 1)
	o, err := NewOpener(OpenerConfig{})
	if err != nil {
		f.Fatal(err)
	}
	for _, body := range [][]byte{nil, []byte("kWh=1"), make([]byte, 100)} {
		p, err := EncodePlain("gateway-0001", fx.header(0, 9), body)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p)
		f.Add(p[:len(p)-1])
	}
	f.Add(fx.message(f, 0, 1, nil))
	f.Fuzz(func(t *testing.T, in []byte) {
		msg, err := o.Open(in, testNow)
		classified(t, err)
		if err != nil {
			return
		}
		again, err := EncodePlain(msg.From, msg.Header, msg.Body)
		if err != nil || !bytes.Equal(again, in) {
			t.Fatalf("accepted a plain message that does not re-encode identically: %v", err)
		}
	})
}

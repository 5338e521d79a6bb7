package envelope

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/veraison/go-cose"
)

func TestRoundTrip(t *testing.T) {
	f := newFixture(t, 1)
	body := []byte("kWh=12.5")
	signed := f.sign(t, 0, 7, body)
	msg, err := f.opener.Open(f.seal(t, signed), testNow)
	if err != nil {
		t.Fatal(err)
	}
	want := f.header(0, 7)
	want.V = Version
	if msg.Header != want {
		t.Errorf("header = %+v, want %+v", msg.Header, want)
	}
	if !bytes.Equal(msg.Body, body) || msg.From != "gateway-0001" || msg.Seq != 0 {
		t.Errorf("body %q from %q seq %d", msg.Body, msg.From, msg.Seq)
	}
	if !bytes.Equal(msg.Signed, signed) || msg.Digest != Digest(signed) {
		t.Error("Signed/Digest do not identify what the meter signed")
	}
	// A second message of the session reuses the cached context.
	msg, err = f.opener.Open(f.message(t, 0, 8, nil), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Seq != 1 || len(msg.Body) != 0 || f.opener.cache.len() != 1 {
		t.Errorf("seq %d, body %d bytes, cache %d", msg.Seq, len(msg.Body), f.opener.cache.len())
	}
}

// captureVerifier records what go-cose asks to be verified, to check that our
// Sig_structure is byte for byte the one RFC 9052 (as go-cose reads it) defines.
type captureVerifier struct {
	inner   cose.Verifier
	content []byte
}

func (c *captureVerifier) Algorithm() cose.Algorithm { return c.inner.Algorithm() }
func (c *captureVerifier) Verify(content, sig []byte) error {
	c.content = append([]byte(nil), content...)
	return c.inner.Verify(content, sig)
}

func TestSignedIsStandardCOSE(t *testing.T) {
	f := newFixture(t, 1)
	signed := f.sign(t, 0, 1, []byte("x"))
	var m cose.Sign1Message
	if err := m.UnmarshalCBOR(signed); err != nil {
		t.Fatal(err)
	}
	v, err := cose.NewVerifier(cose.AlgorithmEdDSA, f.meters[0].key.Public())
	if err != nil {
		t.Fatal(err)
	}
	cv := &captureVerifier{inner: v}
	if err := m.Verify(nil, cv); err != nil {
		t.Fatalf("go-cose rejects our signature: %v", err)
	}
	if !bytes.Equal(cv.content, toBeSigned(m.Payload)) {
		t.Fatalf("Sig_structure differs from go-cose's:\n%x\n%x", toBeSigned(m.Payload), cv.content)
	}
	if !bytes.Equal(canonicalSign1(m.Payload, m.Signature), signed) {
		t.Fatal("Sign output is not the canonical layout")
	}
}

func TestTamperedCiphertext(t *testing.T) {
	f := newFixture(t, 1)
	w := decodeSealed(t, f.message(t, 0, 1, []byte("reading")))
	w.CT[len(w.CT)/2] ^= 0x01
	_, err := f.opener.Open(encode(t, w), testNow)
	wantErr(t, err, ErrDecrypt)
}

// TestOuterHeaderIsAuthenticated: the route, session and seq are bound by
// the AEAD, so a hop cannot relabel a message.
func TestOuterHeaderIsAuthenticated(t *testing.T) {
	f := newFixture(t, 1)
	good := f.message(t, 0, 1, []byte("reading"))
	if _, err := f.opener.Open(good, testNow); err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(*sealedWire){
		"from": func(w *sealedWire) { w.From = "gateway-0002" },
		"seq":  func(w *sealedWire) { w.Seq++ },
		"enc":  func(w *sealedWire) { w.Enc[0] ^= 1 },
	} {
		t.Run(name, func(t *testing.T) {
			w := decodeSealed(t, good)
			edit(w)
			_, err := f.opener.Open(encode(t, w), testNow)
			wantErr(t, err, ErrDecrypt)
		})
	}
}

// TestTamperedInnerPayload: whoever holds a valid session (a compromised
// gateway) can re-encrypt anything, so the signature must still catch an
// altered reading.
func TestTamperedInnerPayload(t *testing.T) {
	f := newFixture(t, 1)
	signed := f.sign(t, 0, 1, []byte("kWh=12.5"))
	var m cose.Sign1Message
	if err := m.UnmarshalCBOR(signed); err != nil {
		t.Fatal(err)
	}
	var p payload
	if err := decodeCanonical(m.Payload, &p); err != nil {
		t.Fatal(err)
	}
	p.Body = []byte("kWh=02.5")
	forged := canonicalSign1(encode(t, &p), m.Signature)
	sealed := f.seal(t, forged)
	_, err := f.opener.Open(sealed, testNow)
	wantErr(t, err, ErrBadSignature)
	res := f.opener.OpenBatch([][]byte{sealed, f.message(t, 0, 2, nil)}, testNow)
	wantErr(t, res[0].Err, ErrBadSignature)
	if res[1].Err != nil {
		t.Fatal(res[1].Err)
	}
}

func TestSignedByAnotherMeter(t *testing.T) {
	f := newFixture(t, 2)
	// Meter 1 signs a message claiming to be meter 0.
	s, err := Sign(f.meters[1].key, f.header(0, 1), []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.opener.Open(f.seal(t, s), testNow)
	wantErr(t, err, ErrBadSignature)
}

func TestWrongRecipient(t *testing.T) {
	f := newFixture(t, 1)
	other, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	o, err := NewOpener(OpenerConfig{Key: other, Keys: f.dir})
	if err != nil {
		t.Fatal(err)
	}
	_, err = o.Open(f.message(t, 0, 1, []byte("x")), testNow)
	wantErr(t, err, ErrDecrypt)
	if o.cache.len() != 0 {
		t.Error("a context that never authenticated was cached")
	}
}

func TestUnknownSender(t *testing.T) {
	f := newFixture(t, 2)
	delete(f.dir.keys, f.meters[1].lfdi)
	_, err := f.opener.Open(f.message(t, 1, 1, []byte("x")), testNow)
	wantErr(t, err, ErrUnknownSender)
	wantErr(t, err, errNoKey)
	if Reason(err) != "unknown_sender" {
		t.Errorf("Reason = %q", Reason(err))
	}
}

func TestFreshness(t *testing.T) {
	f := newFixture(t, 1)
	for _, tc := range []struct {
		name string
		at   time.Time
		want error
	}{
		{"just inside max age", testNow.Add(-DefaultMaxAge + time.Second), nil},
		{"older than max age", testNow.Add(-DefaultMaxAge - time.Millisecond), ErrStale},
		{"just inside skew", testNow.Add(DefaultMaxSkew), nil},
		{"beyond skew", testNow.Add(DefaultMaxSkew + time.Millisecond), ErrStale},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := f.header(0, 1)
			h.Time = tc.at.UnixMilli()
			s, err := Sign(f.meters[0].key, h, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.opener.Open(f.seal(t, s), testNow)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestMalformedOuter(t *testing.T) {
	f := newFixture(t, 1)
	good := f.message(t, 0, 1, []byte("x"))
	w := decodeSealed(t, good)
	cases := map[string][]byte{
		"empty":     {},
		"truncated": good[:len(good)-1],
		"trailing":  append(append([]byte(nil), good...), 0x00),
		// Map header 0xa5 → 0xbf (indefinite) with a 0xff break at the end.
		"indefinite map": append(append([]byte{0xbf}, good[1:]...), 0xff),
		"duplicate key": slices.Concat([]byte{0xa5}, encode(t, 1), encode(t, 1), encode(t, 2), encode(t, w.From),
			encode(t, 3), encode(t, w.Enc), encode(t, 3), encode(t, w.Enc), encode(t, 5), encode(t, w.CT)),
		// v as a two-byte integer (0x18 0x01) instead of 0x01.
		"non-shortest int": append([]byte{0xa5, 0x01, 0x18, 0x01}, good[3:]...),
		"unknown key":      encode(t, map[int]any{1: 1, 2: w.From, 3: w.Enc, 4: w.Seq, 5: w.CT, 9: 0}),
		"missing seq":      encode(t, map[int]any{1: 1, 2: w.From, 3: w.Enc, 5: w.CT}),
		"short enc":        encode(t, map[int]any{1: 1, 2: w.From, 3: w.Enc[:31], 4: w.Seq, 5: w.CT}),
		"sealed and plain": encode(t, map[int]any{1: 1, 2: w.From, 3: w.Enc, 4: w.Seq, 5: w.CT, 6: []byte{1}}),
		"not a map":        encode(t, []any{1, w.From}),
		"tagged":           append([]byte{0xd8, 0x18}, good...),
	}
	if !bytes.Equal(good[:3], []byte{0xa5, 0x01, 0x01}) {
		t.Fatalf("unexpected sealed layout %x", good[:3])
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := f.opener.Open(in, testNow)
			t.Log(err)
			wantErr(t, err, ErrMalformed)
		})
	}
}

func TestMalformedSigned(t *testing.T) {
	f := newFixture(t, 1)
	for name, signed := range malformedSigned(t, f) {
		t.Run(name, func(t *testing.T) {
			_, err := decodeSigned(signed)
			t.Log(err)
			wantErr(t, err, ErrMalformed)
			// And the same arriving properly sealed.
			_, err = f.opener.Open(f.seal(t, signed), testNow)
			wantErr(t, err, ErrMalformed)
		})
	}
}

// malformedSigned returns inner messages each broken in one way; it also
// seeds FuzzDecodeSigned.
func malformedSigned(tb testing.TB, f *fixture) map[string][]byte {
	tb.Helper()
	good := f.sign(tb, 0, 1, []byte("body"))
	var m cose.Sign1Message
	if err := m.UnmarshalCBOR(good); err != nil {
		tb.Fatal(err)
	}
	pl := func(fields map[int]any) []byte { return canonicalSign1(encode(tb, fields), m.Signature) }
	h := f.header(0, 1)
	full := func() map[int]any {
		return map[int]any{1: 1, 2: h.Kind, 3: h.Sender, 4: h.Counter, 5: h.Time, 6: []byte("body")}
	}
	unknown := full()
	unknown[7] = "extra"
	missing := full()
	delete(missing, 6)
	upper := full()
	upper[3] = "abcdef0123456789abcdef0123456789abcdef01"
	nullBody := full()
	nullBody[6] = nil
	withKid := cose.Sign1Message{Headers: cose.Headers{
		Protected:   cose.ProtectedHeader{cose.HeaderLabelAlgorithm: cose.AlgorithmEdDSA},
		Unprotected: cose.UnprotectedHeader{cose.HeaderLabelKeyID: []byte("k")},
	}, Payload: m.Payload, Signature: m.Signature}
	kid, err := withKid.MarshalCBOR()
	if err != nil {
		tb.Fatal(err)
	}
	// Duplicate key 4 in the payload: replace key 5 (time) by a second 4.
	dup := bytes.Clone(m.Payload)
	i := bytes.Index(dup, []byte{0x05, 0x1b}) // key 5, 8-byte int
	if i < 0 {
		tb.Fatalf("payload layout %x", dup)
	}
	dup[i] = 0x04
	return map[string][]byte{
		"truncated":         good[:len(good)-1],
		"trailing":          append(bytes.Clone(good), 0x00),
		"untagged":          good[1:],
		"indefinite array":  append(append([]byte{0xd2, 0x9f}, good[2:]...), 0xff),
		"unprotected kid":   kid,
		"alg ES256":         bytes.Replace(good, []byte{0x43, 0xa1, 0x01, 0x27}, []byte{0x43, 0xa1, 0x01, 0x26}, 1),
		"short signature":   canonicalSign1(m.Payload, m.Signature[:63]),
		"payload unknown":   pl(unknown),
		"payload missing":   pl(missing),
		"payload lowercase": pl(upper),
		"payload null body": pl(nullBody),
		"payload dup key":   canonicalSign1(dup, m.Signature),
		"payload trailing":  canonicalSign1(append(bytes.Clone(m.Payload), 0x00), m.Signature),
		"payload indef":     canonicalSign1(append(append([]byte{0xbf}, m.Payload[1:]...), 0xff), m.Signature),
	}
}

func TestTooLarge(t *testing.T) {
	f := newFixture(t, 1)
	_, err := Sign(f.meters[0].key, f.header(0, 1), make([]byte, MaxSealedSize))
	wantErr(t, err, ErrTooLarge)
	// The largest body Sign accepts must also seal and open.
	body := make([]byte, maxSignedSize-200)
	msg, err := f.opener.Open(f.message(t, 0, 1, body), testNow)
	if err != nil || len(msg.Body) != len(body) {
		t.Fatalf("large message: %v", err)
	}
	_, err = f.opener.Open(make([]byte, MaxSealedSize+1), testNow)
	wantErr(t, err, ErrTooLarge)
	_, err = f.session.Seal(make([]byte, MaxSealedSize))
	wantErr(t, err, ErrTooLarge)
}

func TestVersion(t *testing.T) {
	f := newFixture(t, 1)
	h := f.header(0, 1)
	h.V = 2
	_, err := Sign(f.meters[0].key, h, nil)
	wantErr(t, err, ErrVersion)
	w := decodeSealed(t, f.message(t, 0, 1, nil))
	w.V = 2
	_, err = f.opener.Open(encode(t, w), testNow)
	wantErr(t, err, ErrVersion)
	// A future version with fields we do not know is still a version error.
	future := encode(t, map[int]any{1: 2, 2: "gw", 7: []byte{1}})
	_, err = f.opener.Open(future, testNow)
	wantErr(t, err, ErrVersion)
}

func TestPlainMode(t *testing.T) {
	f := newFixture(t, 1)
	plainOpener, err := NewOpener(OpenerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := EncodePlain("gateway-0001", f.header(0, 3), []byte("kWh=1"))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := plainOpener.Open(plain, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if string(msg.Body) != "kWh=1" || msg.Header.Counter != 3 || msg.Digest != Digest(msg.Signed) {
		t.Errorf("plain message %+v", msg)
	}
	_, err = plainOpener.Open(f.message(t, 0, 1, nil), testNow)
	wantErr(t, err, ErrNotPlain)
	_, err = f.opener.Open(plain, testNow)
	wantErr(t, err, ErrPlainRejected)
	res := plainOpener.OpenBatch([][]byte{plain, plain}, testNow)
	if res[0].Err != nil || res[1].Err != nil {
		t.Fatal(res)
	}
}

func TestOpenBatchOneBadAmong64(t *testing.T) {
	f := newFixture(t, 8)
	const bad = 37
	batch := make([][]byte, 64)
	for i := range batch {
		signed := f.sign(t, i%8, uint64(i), []byte{byte(i)})
		if i == bad {
			signed[len(signed)-1] ^= 0x80 // corrupt the signature's s
		}
		batch[i] = f.seal(t, signed)
	}
	res := f.opener.OpenBatch(batch, testNow)
	for i, r := range res {
		switch {
		case i == bad:
			wantErr(t, r.Err, ErrBadSignature)
		case r.Err != nil:
			t.Fatalf("message %d: %v", i, r.Err)
		case r.Msg.Header.Counter != uint64(i) || r.Msg.Body[0] != byte(i):
			t.Fatalf("message %d out of order: %+v", i, r.Msg.Header)
		}
	}
}

// TestOpenBatchMatchesOpen mixes every rejection class into a batch large
// enough to be split across workers.
func TestOpenBatchMatchesOpen(t *testing.T) {
	f := newFixture(t, 4)
	delete(f.dir.keys, f.meters[3].lfdi)
	var batch [][]byte
	for i := range 300 {
		m := f.message(t, i%4, uint64(i), []byte("r"))
		switch i % 7 {
		case 1:
			m[len(m)-1] ^= 1
		case 2:
			m = m[:10]
		}
		batch = append(batch, m)
	}
	res := f.opener.OpenBatch(batch, testNow)
	for i, m := range batch {
		want, wantE := f.opener.Open(m, testNow)
		if (res[i].Err == nil) != (wantE == nil) || Reason(res[i].Err) != Reason(wantE) {
			t.Fatalf("message %d: batch %v, single %v", i, res[i].Err, wantE)
		}
		if wantE == nil && res[i].Msg.Digest != want.Digest {
			t.Fatalf("message %d: digests differ", i)
		}
	}
	if len(f.opener.OpenBatch(nil, testNow)) != 0 {
		t.Fatal("empty batch")
	}
}

func TestSessionSequence(t *testing.T) {
	f := newFixture(t, 1)
	signed := f.sign(t, 0, 1, nil)
	if _, err := f.session.SealAt(10, signed); err != nil {
		t.Fatal(err)
	}
	msg, err := f.opener.Open(f.seal(t, signed), testNow)
	if err != nil || msg.Seq != 11 {
		t.Fatalf("Seal after SealAt(10): seq %v, %v", msg, err)
	}
	var wg sync.WaitGroup
	seen := sync.Map{}
	for range 8 {
		wg.Go(func() {
			for range 50 {
				w := decodeSealed(t, f.seal(t, signed))
				if _, dup := seen.LoadOrStore(w.Seq, true); dup {
					t.Errorf("seq %d used twice", w.Seq)
				}
			}
		})
	}
	wg.Wait()
	if !bytes.Equal(f.session.Enc(), decodeSealed(t, f.seal(t, signed)).Enc) {
		t.Error("Enc does not match the wire")
	}
}

func TestRecipientCacheBounded(t *testing.T) {
	f := newFixture(t, 1)
	o, err := NewOpener(OpenerConfig{Key: f.recipient, Keys: f.dir, CacheSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	signed := f.sign(t, 0, 1, nil)
	for range 5 {
		s, err := NewSession(f.recipient.PublicKey(), "gw")
		if err != nil {
			t.Fatal(err)
		}
		m, err := s.Seal(signed)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := o.Open(m, testNow); err != nil {
			t.Fatal(err)
		}
	}
	if o.cache.len() != 3 {
		t.Fatalf("cache holds %d, want 3", o.cache.len())
	}
}

func TestConfigErrors(t *testing.T) {
	p256, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	x, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]OpenerConfig{
		"P-256 key":     {Key: p256, Keys: &directory{}},
		"no resolver":   {Key: x},
		"negative age":  {MaxAge: -1},
		"negative size": {CacheSize: -1},
	} {
		if _, err := NewOpener(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := NewSession(p256.PublicKey(), "gw"); !errors.Is(err, ErrConfig) {
		t.Errorf("P-256 session: %v", err)
	}
	if _, err := NewSession(x.PublicKey(), ""); !errors.Is(err, ErrConfig) {
		t.Errorf("empty from: %v", err)
	}
	if _, err := Sign(ed25519.PrivateKey{1}, Header{}, nil); !errors.Is(err, ErrConfig) {
		t.Errorf("short key: %v", err)
	}
}

func TestHeaderValidation(t *testing.T) {
	f := newFixture(t, 1)
	for name, h := range map[string]Header{
		"empty kind":     {Kind: "", Sender: f.meters[0].lfdi},
		"long kind":      {Kind: string(make([]byte, 65)), Sender: f.meters[0].lfdi},
		"short sender":   {Kind: "reading", Sender: "abc"},
		"lowercase hex":  {Kind: "reading", Sender: "abcdef0123456789abcdef0123456789abcdef01"},
		"non-hex sender": {Kind: "reading", Sender: "ZZCDEF0123456789ABCDEF0123456789ABCDEF01"},
	} {
		if _, err := Sign(f.meters[0].key, h, nil); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := EncodePlain("gw", h, nil); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s plain: %v", name, err)
		}
	}
}

func TestReason(t *testing.T) {
	for err, want := range map[error]string{
		nil:              "",
		ErrMalformed:     "malformed",
		ErrTooLarge:      "too_large",
		ErrVersion:       "version",
		ErrDecrypt:       "decrypt",
		ErrBadSignature:  "bad_signature",
		ErrStale:         "stale",
		ErrReplay:        "replay",
		ErrPlainRejected: "plain_rejected",
		ErrNotPlain:      "not_plain",
		errors.Join(ErrUnknownSender, ErrMalformed): "unknown_sender",
		errors.New("other"):                         "internal",
	} {
		if got := Reason(err); got != want {
			t.Errorf("Reason(%v) = %q, want %q", err, got, want)
		}
	}
}

func decodeSealed(tb failer, in []byte) *sealedWire {
	tb.Helper()
	var w sealedWire
	if err := decodeCanonical(in, &w); err != nil {
		tb.Fatal(err)
	}
	return &w
}

func encode(tb failer, v any) []byte {
	tb.Helper()
	out, err := encMode.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

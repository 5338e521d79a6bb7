package envelope

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors-v1.json")

// vector pins the version-1 wire format: a change to labels, key
// derivation, AAD or encodings breaks these stored messages.
type vector struct {
	Name         string `json:"name"`
	RecipientKey string `json:"recipient_x25519_private"`
	MeterKey     string `json:"meter_ed25519_public"`
	Sender       string `json:"sender"`
	Kind         string `json:"kind"`
	Counter      uint64 `json:"counter"`
	TimeMs       int64  `json:"time_ms"`
	Body         string `json:"body_hex"`
	From         string `json:"from"`
	Seq          uint64 `json:"seq"`
	Signed       string `json:"signed_hex"`
	Sealed       string `json:"sealed_hex"`
	Digest       string `json:"digest_hex"`
}

func TestVectors(t *testing.T) {
	path := filepath.Join("testdata", "vectors-v1.json")
	if *update {
		writeVectors(t, path)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(raw, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) == 0 {
		t.Fatal("no vectors")
	}
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			sk, err := ecdh.X25519().NewPrivateKey(unhex(t, v.RecipientKey))
			if err != nil {
				t.Fatal(err)
			}
			dir := &directory{keys: map[string]ed25519.PublicKey{v.Sender: unhex(t, v.MeterKey)}}
			o, err := NewOpener(OpenerConfig{Key: sk, Keys: dir})
			if err != nil {
				t.Fatal(err)
			}
			msg, err := o.Open(unhex(t, v.Sealed), time.UnixMilli(v.TimeMs))
			if err != nil {
				t.Fatal(err)
			}
			want := Header{V: 1, Kind: v.Kind, Sender: v.Sender, Counter: v.Counter, Time: v.TimeMs}
			if msg.Header != want || !bytes.Equal(msg.Body, unhex(t, v.Body)) || msg.From != v.From || msg.Seq != v.Seq {
				t.Fatalf("opened %+v", msg)
			}
			if !bytes.Equal(msg.Signed, unhex(t, v.Signed)) || hex.EncodeToString(msg.Digest[:]) != v.Digest {
				t.Fatal("signed bytes or digest differ from the vector")
			}
			// Ed25519 is deterministic, so signing again must give the same bytes.
			seed := sha256.Sum256([]byte("vector meter " + v.Name))
			again, err := Sign(ed25519.NewKeyFromSeed(seed[:]), want, msg.Body)
			if err != nil || !bytes.Equal(again, msg.Signed) {
				t.Fatalf("Sign no longer reproduces the vector: %v", err)
			}
		})
	}
}

func writeVectors(t *testing.T, path string) {
	var vs []vector
	for i, body := range [][]byte{[]byte(`{"import_wh":125034}`), nil} {
		name := []string{"reading", "empty-body"}[i]
		rseed := sha256.Sum256([]byte("vector recipient " + name))
		sk, err := ecdh.X25519().NewPrivateKey(rseed[:])
		if err != nil {
			t.Fatal(err)
		}
		seed := sha256.Sum256([]byte("vector meter " + name))
		mk := ed25519.NewKeyFromSeed(seed[:])
		h := Header{V: 1, Kind: name, Sender: newMeter(i).lfdi, Counter: uint64(1000 + i), Time: 1748779200000}
		signed, err := Sign(mk, h, body)
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewSession(sk.PublicKey(), "gateway-0001")
		if err != nil {
			t.Fatal(err)
		}
		sealed, err := s.SealAt(uint64(7+i), signed)
		if err != nil {
			t.Fatal(err)
		}
		d := Digest(signed)
		vs = append(vs, vector{
			Name: name, RecipientKey: hex.EncodeToString(rseed[:]),
			MeterKey: hex.EncodeToString(mk.Public().(ed25519.PublicKey)),
			Sender:   h.Sender, Kind: h.Kind, Counter: h.Counter, TimeMs: h.Time,
			Body: hex.EncodeToString(body), From: "gateway-0001", Seq: uint64(7 + i),
			Signed: hex.EncodeToString(signed), Sealed: hex.EncodeToString(sealed), Digest: hex.EncodeToString(d[:]),
		})
	}
	out, err := json.MarshalIndent(vs, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(out, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

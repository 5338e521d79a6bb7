package pki

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeState: a hostile state file never panics, and what decodes
// re-encodes and decodes to the same serial and counts.
func FuzzDecodeState(f *testing.F) {
	d := newStateData()
	d.Serial.SetInt64(7)
	d.Tokens["00"] = TokenRecord{Role: RoleMeter, Name: "m"}
	good, _ := json.Marshal(&d)
	f.Add(good)
	f.Add([]byte(`{"version":1,"serial":1,"revoked":{"zz":"2030-01-01T00:00:00Z"}}`))
	f.Add([]byte(`{"version":1,"serial":1e400}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		d, err := decodeState(raw)
		if err != nil {
			return
		}
		again, err := json.Marshal(&d)
		if err != nil {
			t.Fatal(err)
		}
		d2, err := decodeState(again)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if d2.Serial.Cmp(d.Serial) != 0 || len(d2.Tokens) != len(d.Tokens) || len(d2.Revoked) != len(d.Revoked) {
			t.Fatal("state changed across a round trip")
		}
	})
}

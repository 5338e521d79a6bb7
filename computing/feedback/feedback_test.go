package feedback

import (
	"bytes"
	"errors"
	"testing"
)

func sample() *Message {
	h := bytes.Repeat([]byte{7}, 32)
	return &Message{Checkpoint: []byte("origin\n3\nabc=\n"), Proofs: []Consistency{{From: 2, Hashes: [][]byte{h}}},
		Items: []Item{{Meter: "M", Counter: 4, Status: Accepted, Index: 2, Proof: [][]byte{h, h}, Leaf: h}}, Notice: []byte{1}}
}

func TestRoundTrip(t *testing.T) {
	b, err := sample().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	m, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := m.ProofFrom(2); !ok || len(p) != 1 || len(m.Items) != 1 || m.Items[0].Counter != 4 || !bytes.Equal(m.Notice, []byte{1}) {
		t.Fatalf("got %+v", m)
	}
	rs := []Rejection{{"M", 9, "replay"}}
	rb, _ := MarshalRejections(rs)
	got, err := UnmarshalRejections(rb)
	if err != nil || len(got) != 1 || got[0] != rs[0] {
		t.Fatalf("rejections %+v, %v", got, err)
	}
}

func TestRejectsMalformed(t *testing.T) {
	bad := sample()
	bad.Items[0].Proof = [][]byte{{1, 2}}
	b, _ := bad.Marshal()
	if _, err := Unmarshal(b); !errors.Is(err, ErrMalformed) {
		t.Errorf("short hash: %v", err)
	}
	bad = sample()
	bad.Items[0].Status = 9
	b, _ = bad.Marshal()
	if _, err := Unmarshal(b); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad status: %v", err)
	}
	good, _ := sample().Marshal()
	if _, err := Unmarshal(good[:len(good)-3]); !errors.Is(err, ErrMalformed) {
		t.Errorf("truncated: %v", err)
	}
}

func FuzzUnmarshal(f *testing.F) {
	good, _ := sample().Marshal()
	f.Add(good)
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := Unmarshal(b); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("untyped error %v", err)
		}
	})
}

package strictcbor

import "testing"

type pair struct {
	A int `cbor:"1,keyasint"`
	B int `cbor:"2,keyasint"`
}

func TestStrict(t *testing.T) {
	b, err := Marshal(pair{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	dec := Decoder(16, 4)
	var p pair
	if err := dec.Unmarshal(b, &p); err != nil || p != (pair{1, 2}) {
		t.Fatalf("%+v %v", p, err)
	}
	for name, bad := range map[string][]byte{
		"duplicate key": {0xa2, 0x01, 0x01, 0x01, 0x02},
		"unknown key":   {0xa1, 0x03, 0x01},
		"indefinite":    {0xbf, 0x01, 0x01, 0xff},
		"trailing":      append(append([]byte{}, b...), 0),
	} {
		if err := dec.Unmarshal(bad, &p); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	var long []int
	if err := dec.Unmarshal(append([]byte{0x91}, make([]byte, 17)...), &long); err == nil {
		t.Error("array over the limit accepted")
	}
}

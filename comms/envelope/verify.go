package envelope

import (
	"crypto/ed25519"
	"crypto/rand"
	"sync"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// verifyOpts are the Ed25519 validation rules of every verification in this
// package, single or batched: curve25519-voi's defaults, which reject
// small-order public keys and non-canonical encodings of A and R, so a
// signature is strongly binding (Chalkias et al., "Taming the many EdDSAs",
// 2020), and which make batch and single verification agree exactly.
var verifyOpts = &voi.Options{Verify: voi.VerifyOptionsDefault}

// maxExpanded bounds the cache of expanded public keys. An expanded key
// holds precomputed multiples of the point, so the cache is a memory
// trade: a few thousand kilobyte-sized entries cover a head-end's active
// senders; when it fills up it starts again empty.
const maxExpanded = 16384

// expandedKeys caches decompressed, precomputed public keys: a meter signs
// every 30 minutes with the same key, and decompression is about a third of
// the cost of verifying its signature in a batch.
type expandedKeys struct {
	mu sync.RWMutex
	m  map[[ed25519.PublicKeySize]byte]*voi.ExpandedPublicKey
}

func newExpandedKeys() *expandedKeys {
	return &expandedKeys{m: map[[ed25519.PublicKeySize]byte]*voi.ExpandedPublicKey{}}
}

// get returns the expanded form of pub; an error means pub is not a valid
// Ed25519 public key under verifyOpts.
func (c *expandedKeys) get(pub ed25519.PublicKey) (*voi.ExpandedPublicKey, error) {
	var k [ed25519.PublicKeySize]byte
	copy(k[:], pub)
	c.mu.RLock()
	x, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return x, nil
	}
	x, err := voi.NewExpandedPublicKey(voi.PublicKey(pub))
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) >= maxExpanded {
		clear(c.m)
	}
	c.m[k] = x
	c.mu.Unlock()
	return x, nil
}

// verifyOne checks one signature.
func verifyOne(x *voi.ExpandedPublicKey, msg, sig []byte) bool {
	return voi.VerifyExpandedWithOptions(x, msg, sig, verifyOpts)
}

// verifyMany checks signatures with one batch equation and reports, when it
// fails, which ones are bad.
func verifyMany(keys []*voi.ExpandedPublicKey, msgs, sigs [][]byte) []bool {
	v := voi.NewBatchVerifierWithCapacity(len(keys))
	for i := range keys {
		v.AddExpandedWithOptions(keys[i], msgs[i], sigs[i], verifyOpts)
	}
	_, valid := v.Verify(rand.Reader)
	return valid
}

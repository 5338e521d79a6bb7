package envelope

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// rotating is a KeyRefresher for one sender that renewed its key: keys is
// what its cache gives, fresh what a look past the cache finds, and failed
// the refresh's error when its directory does not answer.
type rotating struct {
	mu        sync.Mutex
	keys      []ed25519.PublicKey
	fresh     []ed25519.PublicKey
	failed    error
	refreshes int
}

func (r *rotating) SigningKeys(string, time.Time) ([]ed25519.PublicKey, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.keys, nil
}

func (r *rotating) RefreshSigningKeys(string, time.Time) ([]ed25519.PublicKey, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refreshes++
	return r.fresh, r.failed
}

// otherKey is a second key for meter m, as after a renewal with a new key.
func otherKey(m, generation int) ed25519.PrivateKey {
	seed := sha256.Sum256(fmt.Appendf(nil, "meter %d key %d", m, generation))
	return ed25519.NewKeyFromSeed(seed[:])
}

// rotatingFixture is a fixture whose one meter's resolver is r, with the
// meter's first key as old and a renewed one as new.
func rotatingFixture(t *testing.T, r *rotating) (f *fixture, old, renewed ed25519.PrivateKey) {
	t.Helper()
	f = newFixture(t, 1)
	var err error
	if f.opener, err = NewOpener(OpenerConfig{Key: f.recipient, Keys: r}); err != nil {
		t.Fatal(err)
	}
	return f, f.meters[0].key, otherKey(0, 2)
}

func (f *fixture) signWith(t *testing.T, key ed25519.PrivateKey, counter uint64) []byte {
	t.Helper()
	s, err := Sign(key, f.header(0, counter), []byte("register"))
	if err != nil {
		t.Fatal(err)
	}
	return f.seal(t, s)
}

func pubOf(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

// While a meter rotates its key both its keys verify, in Open and in a
// batch (where the batch equation tries the first key and a failure falls
// back to the others); a third key does not, and nothing is refreshed while
// the keys given verify.
func TestOpenDuringKeyRotation(t *testing.T) {
	r := &rotating{}
	f, old, renewed := rotatingFixture(t, r)
	r.keys = []ed25519.PublicKey{pubOf(renewed), pubOf(old)}
	stranger := otherKey(0, 3)

	var batch [][]byte
	for i := range 3 * minChunk {
		key := []ed25519.PrivateKey{old, renewed, stranger}[i%3]
		batch = append(batch, f.signWith(t, key, uint64(i+1)))
	}
	for i, res := range f.opener.OpenBatch(batch, testNow) {
		if i%3 == 2 {
			wantErr(t, res.Err, ErrBadSignature)
		} else if res.Err != nil {
			t.Fatalf("message %d (key %d): %v", i, i%3, res.Err)
		}
	}
	for i, key := range []ed25519.PrivateKey{old, renewed} {
		if _, err := f.opener.Open(f.signWith(t, key, uint64(1000+i)), testNow); err != nil {
			t.Fatalf("Open with key %d: %v", i, err)
		}
	}
	wantErr(t, open1(f, f.signWith(t, stranger, 2000)), ErrBadSignature)
	if want := minChunk + 1; r.refreshes != want { // one per stranger's message
		t.Fatalf("%d refreshes, want one per message no key verified (%d)", r.refreshes, want)
	}
}

func open1(f *fixture, sealed []byte) error {
	_, err := f.opener.Open(sealed, testNow)
	return err
}

// A message signed with a key the resolver's cache does not hold yet opens
// once the refresh finds it, in Open and in a batch; a refresh that finds
// nothing new leaves the message rejected.
func TestOpenRefreshesForARenewedKey(t *testing.T) {
	r := &rotating{}
	f, old, renewed := rotatingFixture(t, r)
	r.keys = []ed25519.PublicKey{pubOf(old)}
	r.fresh = []ed25519.PublicKey{pubOf(old)}
	wantErr(t, open1(f, f.signWith(t, renewed, 1)), ErrBadSignature)

	r.fresh = []ed25519.PublicKey{pubOf(renewed), pubOf(old)}
	if err := open1(f, f.signWith(t, renewed, 2)); err != nil {
		t.Fatalf("Open after the refresh found the key: %v", err)
	}
	var batch [][]byte
	for i := range 2 * minChunk {
		batch = append(batch, f.signWith(t, []ed25519.PrivateKey{old, renewed}[i%2], uint64(10+i)))
	}
	for i, res := range f.opener.OpenBatch(batch, testNow) {
		if res.Err != nil {
			t.Fatalf("batch message %d: %v", i, res.Err)
		}
	}
}

// A refresh that fails leaves the message a bad signature that carries the
// refresh's error, in Open and in a batch, so that a caller can keep a
// reading whose sender's new key could not be looked up instead of
// rejecting it for good.
func TestOpenReportsAFailedRefresh(t *testing.T) {
	r := &rotating{failed: errors.New("directory unreachable")}
	f, old, renewed := rotatingFixture(t, r)
	r.keys = []ed25519.PublicKey{pubOf(old)}
	err := open1(f, f.signWith(t, renewed, 1))
	wantErr(t, err, ErrBadSignature)
	if !errors.Is(err, r.failed) {
		t.Fatalf("Open: %v, want it to wrap the refresh's error", err)
	}
	res := f.opener.OpenBatch([][]byte{f.signWith(t, old, 2), f.signWith(t, renewed, 3)}, testNow)
	if res[0].Err != nil || !errors.Is(res[1].Err, ErrBadSignature) || !errors.Is(res[1].Err, r.failed) {
		t.Fatalf("batch: %v, %v; want the old key's message opened and the other wrapping the refresh's error", res[0].Err, res[1].Err)
	}
}

// A resolver answer the Opener cannot use is the sender's fault, never a
// verification against a key of the wrong size or an unbounded list.
func TestOpenRejectsUnusableKeyLists(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys []ed25519.PublicKey
	}{
		{"none", nil},
		{"too many", make([]ed25519.PublicKey, MaxSenderKeys+1)},
		{"short key", []ed25519.PublicKey{make([]byte, 31)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &rotating{keys: tc.keys}
			f, old, _ := rotatingFixture(t, r)
			for i := range r.keys {
				if len(r.keys[i]) == 0 {
					r.keys[i] = pubOf(old)
				}
			}
			wantErr(t, open1(f, f.signWith(t, old, 1)), ErrUnknownSender)
			res := f.opener.OpenBatch([][]byte{f.signWith(t, old, 2)}, testNow)
			wantErr(t, res[0].Err, ErrUnknownSender)
		})
	}
}

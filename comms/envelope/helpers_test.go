package envelope

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// errNoKey is what the test directory returns for unknown senders, standing in
// for the PKI's typed error.
var errNoKey = errors.New("test directory: no certificate for sender")

// directory is a KeyResolver over a map, as the head-end's certificate
// directory is over its store.
type directory struct {
	mu   sync.Mutex
	keys map[string]ed25519.PublicKey
}

var _ KeyResolver = (*directory)(nil)

func (d *directory) SigningKeys(sender string, _ time.Time) ([]ed25519.PublicKey, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	k, ok := d.keys[sender]
	if !ok {
		return nil, errNoKey
	}
	return []ed25519.PublicKey{k}, nil
}

type meter struct {
	lfdi string
	key  ed25519.PrivateKey
}

// newMeter derives a meter identity deterministically from n so that fuzz
// seeds and test failures are reproducible.
func newMeter(n int) meter {
	seed := sha256.Sum256(fmt.Appendf(nil, "meter %d", n))
	key := ed25519.NewKeyFromSeed(seed[:])
	sum := sha256.Sum256(key.Public().(ed25519.PublicKey))
	return meter{lfdi: strings.ToUpper(hex.EncodeToString(sum[:20])), key: key}
}

// testNow is a fixed clock so that freshness is deterministic.
var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

type fixture struct {
	meters    []meter
	dir       *directory
	recipient *ecdh.PrivateKey
	opener    *Opener
	session   *Session
}

func newFixture(tb testing.TB, meters int) *fixture {
	tb.Helper()
	f := &fixture{dir: &directory{keys: map[string]ed25519.PublicKey{}}}
	for i := range meters {
		m := newMeter(i)
		f.meters = append(f.meters, m)
		f.dir.keys[m.lfdi] = m.key.Public().(ed25519.PublicKey)
	}
	var err error
	if f.recipient, err = ecdh.X25519().GenerateKey(rand.Reader); err != nil {
		tb.Fatal(err)
	}
	if f.opener, err = NewOpener(OpenerConfig{Key: f.recipient, Keys: f.dir}); err != nil {
		tb.Fatal(err)
	}
	if f.session, err = NewSession(f.recipient.PublicKey(), "gateway-0001"); err != nil {
		tb.Fatal(err)
	}
	return f
}

// failer is what the helpers need from testing.TB and rapid.T alike.
type failer interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

func (f *fixture) header(m int, counter uint64) Header {
	return Header{Kind: "reading", Sender: f.meters[m].lfdi, Counter: counter, Time: testNow.Add(-time.Minute).UnixMilli()}
}

func (f *fixture) sign(tb failer, m int, counter uint64, body []byte) []byte {
	tb.Helper()
	s, err := Sign(f.meters[m].key, f.header(m, counter), body)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func (f *fixture) seal(tb failer, signed []byte) []byte {
	tb.Helper()
	out, err := f.session.Seal(signed)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func (f *fixture) message(tb failer, m int, counter uint64, body []byte) []byte {
	tb.Helper()
	return f.seal(tb, f.sign(tb, m, counter, body))
}

func wantErr(tb failer, err, want error) {
	tb.Helper()
	if !errors.Is(err, want) {
		tb.Fatalf("error = %v, want %v", err, want)
	}
}

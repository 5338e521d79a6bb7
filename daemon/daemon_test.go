package daemon

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/computing/spool"
)

func newCA(t *testing.T, now time.Time) *pki.CA {
	t.Helper()
	c, err := pki.NewCA("test-ca", p256(t), pki.NewMemState(), now, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// issued returns a fresh Ed25519 key and its certificate for role.
func issued(t *testing.T, c *pki.CA, role pki.Role, name string, now time.Time) (ed25519.PrivateKey, *pki.Identity) {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := c.Issue(role, name, "", key.Public(), now)
	if err != nil {
		t.Fatal(err)
	}
	id, err := pki.IdentityOf(cert)
	if err != nil {
		t.Fatal(err)
	}
	return key, &id
}

func TestHeadEndBundle(t *testing.T) {
	now := time.Now()
	c := newCA(t, now)
	key, id := issued(t, c, pki.RoleHeadEnd, "headend", now)
	hpke, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	const origin = "usapp.test/headend"
	good := NewHeadEndBundle(origin, id.Cert, key, hpke.PublicKey())
	v := pki.NewVerifier(c.Certificate())

	gotID, signing, hk, err := good.Verify(v, now)
	if err != nil {
		t.Fatalf("a bundle the head-end signed does not verify: %v", err)
	}
	if gotID.LFDI != id.LFDI || !signing.Equal(key.Public()) || !hk.Equal(hpke.PublicKey()) {
		t.Fatal("Verify returned other keys than the bundle's")
	}

	// A man in the middle substitutes its own HPKE key.
	mitm, _ := ecdh.X25519().GenerateKey(rand.Reader)
	swapped := good
	swapped.HPKEKey = mitm.PublicKey().Bytes()
	// A bundle moved to another log origin.
	moved := good
	moved.Origin = "usapp.test/other"
	// A gateway certificate cannot speak for the head-end, even signing correctly.
	gwKey, gwID := issued(t, c, pki.RoleGateway, "gw", now)
	notHeadEnd := NewHeadEndBundle(origin, gwID.Cert, gwKey, hpke.PublicKey())
	// A head-end certified by another CA.
	otherKey, otherID := issued(t, newCA(t, now), pki.RoleHeadEnd, "headend", now)
	foreign := NewHeadEndBundle(origin, otherID.Cert, otherKey, hpke.PublicKey())
	garbled := good
	garbled.Cert = good.Cert[:len(good.Cert)/2]

	for name, b := range map[string]HeadEndBundle{"swapped HPKE key": swapped, "moved origin": moved,
		"gateway certificate": notHeadEnd, "foreign CA": foreign, "garbled certificate": garbled} {
		if _, _, _, err := b.Verify(v, now); !errors.Is(err, ErrBundle) {
			t.Errorf("%s: Verify = %v, want ErrBundle", name, err)
		}
	}
	// The bundle travels as JSON: a round trip keeps it verifiable.
	raw, err := good.marshal()
	if err != nil {
		t.Fatal(err)
	}
	var back HeadEndBundle
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := back.Verify(v, now); err != nil {
		t.Fatalf("bundle after a JSON round trip: %v", err)
	}
}

func TestDrainWaitsForReceipts(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sp, err := spool.Open(filepath.Join(t.TempDir(), "spool.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	ctx := context.Background()
	const gw = "GW"
	e := spool.Entry{Gateway: gw, Meter: "M", Counter: 1, Sealed: []byte{1}, Record: []byte{2}, Attempts: 1, LastSent: time.Now()}
	if err := sp.Put(ctx, e); err != nil {
		t.Fatal(err)
	}

	// Unacknowledged: drain gives up at its timeout, never earlier.
	start := time.Now()
	drain(sp, gw, 300*time.Millisecond, log)
	if d := time.Since(start); d < 300*time.Millisecond || d > 5*time.Second {
		t.Fatalf("drain with a pending reading returned after %v, want its 300ms timeout", d)
	}

	// A receipt arriving during the drain ends it early.
	go func() {
		time.Sleep(100 * time.Millisecond)
		if _, err := sp.Ack(ctx, gw, e.Key(), []byte{3}); err != nil {
			t.Error(err)
		}
	}()
	start = time.Now()
	drain(sp, gw, 10*time.Second, log)
	if d := time.Since(start); d < 100*time.Millisecond || d > 5*time.Second {
		t.Fatalf("drain returned after %v, want soon after the receipt at 100ms", d)
	}
}

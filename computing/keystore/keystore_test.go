package keystore_test

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/usapp/usapp/computing/keystore"
)

var pass = []byte("correct horse battery staple")

func open(t testing.TB, dir string) *keystore.FileStore {
	t.Helper()
	s, err := keystore.Open(dir, pass)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// testKeys returns one key of each supported type with its secret bytes,
// which must never appear in any file of the store.
func testKeys(t testing.TB) (map[string]crypto.PrivateKey, map[string][]byte) {
	t.Helper()
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	xk, _ := ecdh.X25519().GenerateKey(rand.Reader)
	ecBytes, _ := ec.Bytes()
	keys := map[string]crypto.PrivateKey{"ed25519": ed, "ecdsa-p256": ec, "x25519": xk}
	secrets := map[string][]byte{"ed25519": ed.Seed(), "ecdsa-p256": ecBytes, "x25519": xk.Bytes()}
	for name, k := range keys {
		der, _ := x509.MarshalPKCS8PrivateKey(k)
		secrets[name+"-pkcs8"] = der
	}
	return keys, secrets
}

func TestRoundTripEveryKeyTypeAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	keys, _ := testKeys(t)
	for name, k := range keys {
		if err := s.Put(name, k); err != nil {
			t.Fatalf("put %s: %v", name, err)
		}
	}
	s2 := open(t, dir) // a restart: fresh KEK derivation from the same passphrase
	for name, want := range keys {
		got, err := s2.Get(name)
		if err != nil {
			t.Fatalf("get %s: %v", name, err)
		}
		if !want.(interface{ Equal(crypto.PrivateKey) bool }).Equal(got) {
			t.Fatalf("%s: got a different key (%T)", name, got)
		}
	}
	names, err := s2.List()
	if err != nil || len(names) != 3 || names[0] != "ecdsa-p256" || names[2] != "x25519" {
		t.Fatalf("List = %v, %v", names, err)
	}
}

func TestWrongPassphrase(t *testing.T) {
	dir := t.TempDir()
	open(t, dir)
	if _, err := keystore.Open(dir, []byte("Correct horse battery staple")); !errors.Is(err, keystore.ErrWrongPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	if _, err := keystore.Open(t.TempDir(), nil); !errors.Is(err, keystore.ErrWrongPassphrase) {
		t.Fatalf("empty passphrase: %v", err)
	}
}

func TestTamperedFileIsCorrupt(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	if _, err := keystore.GenerateEd25519(s, "device"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "device.key")
	orig, _ := os.ReadFile(path)
	for i := range orig {
		flipped := bytes.Clone(orig)
		flipped[i] ^= 0x01
		if err := os.WriteFile(path, flipped, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get("device"); !errors.Is(err, keystore.ErrCorrupt) {
			t.Fatalf("byte %d flipped: %v, want ErrCorrupt", i, err)
		}
	}
	if err := os.WriteFile(path, orig[:len(orig)-1], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("device"); !errors.Is(err, keystore.ErrCorrupt) {
		t.Fatalf("truncated: %v, want ErrCorrupt", err)
	}
}

func TestRenamedFileFails(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	if _, err := keystore.GenerateEd25519(s, "meter-key"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "meter-key.key"), filepath.Join(dir, "headend-key.key")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("headend-key"); !errors.Is(err, keystore.ErrCorrupt) {
		t.Fatalf("renamed file: %v, want ErrCorrupt", err)
	}
	if _, err := s.Get("meter-key"); !errors.Is(err, keystore.ErrNotFound) {
		t.Fatalf("moved-away key: %v, want ErrNotFound", err)
	}
}

func TestNoClearKeyBytesOnDiskAndModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ks")
	s := open(t, dir)
	keys, secrets := testKeys(t)
	for name, k := range keys {
		if err := s.Put(name, k); err != nil {
			t.Fatal(err)
		}
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v %v, want 0700", fi.Mode(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
		t.Fatalf("%d files, want keystore.json + 3 keys (no temp files)", len(entries))
	}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		fi, _ := os.Stat(path)
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", e.Name(), fi.Mode().Perm())
		}
		data, _ := os.ReadFile(path)
		for what, secret := range secrets {
			if bytes.Contains(data, secret) {
				t.Errorf("%s contains the clear %s", e.Name(), what)
			}
		}
		if bytes.Contains(data, pass) {
			t.Errorf("%s contains the passphrase", e.Name())
		}
	}
}

func TestPutRules(t *testing.T) {
	s := open(t, t.TempDir())
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	if err := s.Put("k", ed); err != nil {
		t.Fatal(err)
	}
	if err := s.Put("k", ed); !errors.Is(err, keystore.ErrExists) {
		t.Fatalf("second put: %v, want ErrExists", err)
	}
	for _, bad := range []string{"", "a/b", "../x", "a b", string(make([]byte, 129))} {
		if err := s.Put(bad, ed); !errors.Is(err, keystore.ErrBadName) {
			t.Errorf("put %q: %v, want ErrBadName", bad, err)
		}
		if _, err := s.Get(bad); !errors.Is(err, keystore.ErrBadName) {
			t.Errorf("get %q: %v, want ErrBadName", bad, err)
		}
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 1024)
	p256, _ := ecdh.P256().GenerateKey(rand.Reader)
	for _, k := range []crypto.PrivateKey{rsaKey, p256, ed[:10], nil} {
		if err := s.Put("other", k); !errors.Is(err, keystore.ErrUnsupportedKey) {
			t.Errorf("put %T: %v, want ErrUnsupportedKey", k, err)
		}
	}
	if _, err := s.Get("missing"); !errors.Is(err, keystore.ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
}

func TestConcurrentPutOneWinner(t *testing.T) {
	s := open(t, t.TempDir())
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = keystore.GenerateEd25519(s, "same")
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, keystore.ErrExists):
			t.Fatal(err)
		}
	}
	if won != 1 {
		t.Fatalf("%d writers won, want 1", won)
	}
}

func TestDowngradedParametersRefused(t *testing.T) {
	dir := t.TempDir()
	open(t, dir)
	path := filepath.Join(dir, "keystore.json")
	raw, _ := os.ReadFile(path)
	weak := bytes.Replace(raw, []byte(`"n": 32768`), []byte(`"n": 2`), 1)
	if bytes.Equal(raw, weak) {
		t.Fatalf("test cannot find n in %s", raw)
	}
	os.WriteFile(path, weak, 0o600)
	if _, err := keystore.Open(dir, pass); !errors.Is(err, keystore.ErrCorrupt) {
		t.Fatalf("downgraded N: %v, want ErrCorrupt", err)
	}
}

func TestControl(t *testing.T) {
	c := open(t, t.TempDir()).Control()
	if c.ID != "B1.keys-at-rest" || c.Params["scrypt_n"] != "32768" {
		t.Fatalf("control %+v", c)
	}
}

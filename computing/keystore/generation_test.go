package keystore_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"slices"
	"testing"

	"github.com/usapp/usapp/computing/keystore"
)

// Generations finds base's generations, newest first, and nothing that only
// looks like one: another base sharing its prefix, a non-canonical number.
func TestGenerations(t *testing.T) {
	ks := open(t, t.TempDir())
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	for _, name := range []string{"meter-1", "meter-1.k3", "meter-1.k2", "meter-10", "meter-10.k2", "meter-1.k02", "meter-1.k1", "meter-1.kx"} {
		if err := ks.Put(name, key); err != nil {
			t.Fatal(err)
		}
	}
	got, err := keystore.Generations(ks, "meter-1")
	if err != nil || !slices.Equal(got, []int{3, 2, 1}) {
		t.Fatalf("generations %v, %v; want [3 2 1]", got, err)
	}
	if n := keystore.GenerationName("meter-1", 3); n != "meter-1.k3" || keystore.GenerationName("meter-1", 1) != "meter-1" {
		t.Fatalf("names %q", n)
	}
	if got, err := keystore.Generations(ks, "gateway"); err != nil || len(got) != 0 {
		t.Fatalf("an absent base: %v, %v", got, err)
	}
}

// DeleteBefore destroys the older generations of one base and nothing else;
// a deleted key is gone after reopening the store, and deleting it again is
// ErrNotFound.
func TestDeleteBefore(t *testing.T) {
	dir := t.TempDir()
	ks := open(t, dir)
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	for _, name := range []string{"meter-1", "meter-1.k2", "meter-1.k3", "meter-1.k4", "meter-10"} {
		if err := ks.Put(name, key); err != nil {
			t.Fatal(err)
		}
	}
	if err := keystore.DeleteBefore(ks, "meter-1", 3); err != nil {
		t.Fatal(err)
	}
	names, err := open(t, dir).List()
	if err != nil || !slices.Equal(names, []string{"meter-1.k3", "meter-1.k4", "meter-10"}) {
		t.Fatalf("after DeleteBefore(3): %v, %v", names, err)
	}
	if err := ks.Delete("meter-1"); !errors.Is(err, keystore.ErrNotFound) {
		t.Fatalf("deleting a deleted key: %v, want ErrNotFound", err)
	}
	if err := ks.Delete("../keystore"); !errors.Is(err, keystore.ErrBadName) {
		t.Fatalf("deleting a path: %v, want ErrBadName", err)
	}
}

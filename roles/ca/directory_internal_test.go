package ca

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"math/big"
	"testing"
	"time"

	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/comms/pki/est"
)

// The memory index (the demo's) finds every certificate by serial, those
// the by-identity answer has dropped as older than est.MaxDirectoryCerts
// renewals included.
func TestMemoryDirectoryBySerial(t *testing.T) {
	now := time.Now()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	c, err := pki.NewCA("test CA", key, pki.NewMemState(), now.Add(-time.Hour), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	d := newDirectory(pki.NewMemState())
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	var first *big.Int
	for i := range est.MaxDirectoryCerts + 2 {
		cert, err := c.Issue(pki.RoleGateway, "home-1", "", pub, now.Add(time.Duration(i)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if err := d.RecordIssued(cert); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = cert.SerialNumber
		}
	}
	got, err := d.bySerial(context.Background(), first)
	if err != nil || got == nil || got.SerialNumber.Cmp(first) != 0 {
		t.Fatalf("oldest certificate by serial: %v, %v", got, err)
	}
	if got, err := d.bySerial(context.Background(), big.NewInt(1<<40)); err != nil || got != nil {
		t.Fatalf("a serial never issued: %v, %v; want none", got, err)
	}
}

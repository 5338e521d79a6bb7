package keystore_test

import (
	"testing"

	"github.com/usapp/usapp/computing/keystore"
)

// BenchmarkGet is the cost of loading a key at role start-up (read, AEAD
// open, PKCS#8 parse), excluding the one-off scrypt of Open.
func BenchmarkGet(b *testing.B) {
	s := open(b, b.TempDir())
	if _, err := keystore.GenerateEd25519(s, "k"); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.Get("k"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "keys/s")
}

// BenchmarkOpen is the scrypt cost a passphrase entry pays.
func BenchmarkOpen(b *testing.B) {
	dir := b.TempDir()
	open(b, dir)
	for b.Loop() {
		open(b, dir)
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/open")
}

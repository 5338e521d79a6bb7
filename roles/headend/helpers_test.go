package headend

import (
	"crypto/ed25519"
	"crypto/x509"
	"testing"

	"github.com/usapp/usapp/billing"
	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/roles/meter"
)

// meterWithCounter rebuilds a home's meter with the same key but a counter
// set back, as a cloned or rolled-back meter would be.
func meterWithCounter(t *testing.T, f *fixture, h *testHome, counter uint64) *meter.Meter {
	t.Helper()
	return meter.New(h.meter.LFDI(), h.key, f.trace, counter)
}

func meterFor(c *x509.Certificate, k ed25519.PrivateKey, f *fixture) *meter.Meter {
	return meter.New(pki.LFDI(c.Raw), k, f.trace, 0)
}

func defaultTariff(t testing.TB) billing.Tariff {
	t.Helper()
	return billing.DefaultTariff()
}

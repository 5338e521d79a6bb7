package meter

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/usapp/usapp/comms/envelope"
	"github.com/usapp/usapp/metering"
	"github.com/usapp/usapp/sim/household"
)

func newMeter(t *testing.T) (*Meter, ed25519.PublicKey, *household.Trace) {
	t.Helper()
	tr, err := household.UKDALE()
	if err != nil {
		t.Fatal(err)
	}
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	return New(strings.Repeat("A1", 20), key, tr, 0), pub, tr
}

// The registers of a day add up to the trace's energy: rounding happens on
// the cumulative register, so no watt-hour is lost or invented.
func TestRegistersSumToTraceEnergy(t *testing.T) {
	m, pub, tr := newMeter(t)
	start := tr.Start
	var sum int64
	for k := range 48 {
		from := start.Add(time.Duration(k) * metering.Interval)
		from = from.Truncate(metering.Interval)
		r, err := m.Read(from, from.Add(metering.Interval))
		if err != nil {
			t.Fatal(err)
		}
		if r.Counter != uint64(k+1) {
			t.Fatalf("counter %d at reading %d", r.Counter, k)
		}
		h, body, err := envelope.Verify(r.Signed, pub)
		if err != nil || h.Sender != m.LFDI() || h.Counter != r.Counter {
			t.Fatalf("signature: %v %+v", err, h)
		}
		if got, err := metering.Unmarshal(body); err != nil || got != r.Register {
			t.Fatalf("signed body %+v, %v", got, err)
		}
		sum += r.Register.EnergyWh
	}
	// The meter reads the trace cyclically from the aligned start, so a full
	// day of registers covers the trace exactly once.
	want := tr.EnergyWh(tr.Start, tr.End())
	if d := float64(sum) - want; d > 1 || d < -1 {
		t.Fatalf("registers sum to %d Wh, trace holds %.1f Wh", sum, want)
	}
	if m.State().BilledWh != uint64(sum) {
		t.Fatalf("state %+v, sum %d", m.State(), sum)
	}
}

func TestRestoreContinuesCounterAndRegister(t *testing.T) {
	m, _, tr := newMeter(t)
	at := time.Date(2026, 6, 8, 0, 0, 0, 0, time.UTC)
	first, _ := m.Read(at, at)
	r := Restore(m.LFDI(), *m.key.Load(), tr, m.State())
	second, err := r.Read(at.Add(metering.Interval), at)
	if err != nil {
		t.Fatal(err)
	}
	if second.Counter != first.Counter+1 || second.Register.CumulativeWh < first.Register.CumulativeWh {
		t.Fatalf("restored meter went back: %+v then %+v", first, second)
	}
}

// After Rekey the meter signs with the new key; a reading signed before
// keeps the old key's signature. Rekey may race with readings (run with
// -race).
func TestRekeySwitchesTheSigningKey(t *testing.T) {
	m, oldPub, _ := newMeter(t)
	at := time.Date(2026, 6, 8, 0, 0, 0, 0, time.UTC)
	before, err := m.Read(at, at)
	if err != nil {
		t.Fatal(err)
	}
	newPub, newKey, _ := ed25519.GenerateKey(rand.Reader)
	done := make(chan struct{})
	go func() { m.Rekey(newKey); close(done) }()
	for k := 1; k < 4; k++ {
		if _, err := m.Read(at.Add(time.Duration(k)*metering.Interval), at); err != nil {
			t.Error(err)
		}
	}
	<-done
	after, err := m.Read(at.Add(4*metering.Interval), at)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := envelope.Verify(before.Signed, oldPub); err != nil {
		t.Fatalf("reading before the rekey: %v", err)
	}
	if _, _, err := envelope.Verify(after.Signed, newPub); err != nil {
		t.Fatalf("reading after the rekey, new key: %v", err)
	}
	if _, _, err := envelope.Verify(after.Signed, oldPub); err == nil {
		t.Fatal("reading after the rekey verifies with the old key")
	}
}

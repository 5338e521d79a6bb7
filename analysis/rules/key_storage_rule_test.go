package rules

import "testing"

func TestKeyStorage(t *testing.T) {
	// The fixture holds one meter, one gateway and one EVSE; head-ends and
	// HEMS are not field devices in physical reach.
	expect(t, keyStorage{}, "", "meter EV.poor-key-storage", "gw EV.poor-key-storage", "evse EV.poor-key-storage")
}

package bus

import "testing"

func TestRouteOf(t *testing.T) {
	for subj, want := range map[string]string{
		ReadingSubject("ABC123"): "ABC123",
		ReceiptSubject("ABC123"): "",
		ReadingsPrefix:           "",
		ReadingsPrefix + "a.b":   "",
		"usapp.v1.readingsX.ABC": "",
	} {
		if got := RouteOf(subj); got != want {
			t.Errorf("RouteOf(%q) = %q, want %q", subj, got, want)
		}
	}
}

package framework

import "testing"

func TestSubclassClass(t *testing.T) {
	want := map[Subclass]Class{A1: Communications, A3: Communications, B2: Computing, C3: Control, "D1": "", "A4": "", "A": ""}
	for s, c := range want {
		if got := s.Class(); got != c {
			t.Errorf("%q.Class() = %q, want %q", s, got, c)
		}
	}
}

func TestControlIDs(t *testing.T) {
	for _, id := range []ControlID{Enrolment, CertRotation, Revocation, SignedMessages, ReplayProtection,
		EndToEndEncryption, BusAccessControl, KeysAtRest, IntegrityFeedback, StoreAndForward, DurableBus} {
		if err := id.Validate(); err != nil {
			t.Error(err)
		}
	}
	for _, bad := range []ControlID{"A1", "A1.", "Z9.x", "A1.Upper", "A1.sp ace"} {
		if bad.Validate() == nil {
			t.Errorf("%q validated", bad)
		}
	}
	if Enrolment.Subclass() != A1 {
		t.Errorf("subclass of %q = %q", Enrolment, Enrolment.Subclass())
	}
}

package framework

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
)

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
		EndToEndEncryption, BusAccessControl, KeysAtRest, IntegrityFeedback, StoreAndForward, DurableBus, SpheresOfControl} {
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

func TestControlsHandler(t *testing.T) {
	h := ControlsHandler("headend", func() []Active {
		return []Active{{ID: IntegrityFeedback}, {ID: Enrolment, Params: map[string]string{"k": "v"}}}
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/controls", nil))
	var got struct {
		Version  int
		Role     string
		Controls []Active
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Role != "headend" || len(got.Controls) != 2 || got.Controls[0].ID != Enrolment || got.Controls[0].Params["k"] != "v" {
		t.Fatalf("got %+v", got)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/controls", nil))
	if rec.Code != 405 {
		t.Fatalf("POST answered %d", rec.Code)
	}
}

package framework

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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

// A GET /controls answer that is not version 1 of well-formed controls is
// ErrControlsAnswer, never a misread list.
func FuzzReadControls(f *testing.F) {
	f.Add([]byte(`{"version":1,"role":"gateway","controls":[{"id":"A1.enrolment","params":{"a":"b"}}]}`))
	f.Add([]byte(`{"version":1,"role":"","controls":null}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`{"version":1,"controls":[{"id":"bad"}]}`))
	f.Add([]byte(`{"version":1,"role":"x","controls":[],"extra":1}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, active, err := ReadControls(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrControlsAnswer) {
				t.Fatalf("error %v is not ErrControlsAnswer", err)
			}
			return
		}
		for _, a := range active {
			if a.ID.Validate() != nil {
				t.Fatalf("accepted malformed id %q", a.ID)
			}
		}
	})
}

// What ControlsHandler writes, FetchControls reads back.
func TestFetchControlsRoundTrip(t *testing.T) {
	want := []Active{{ID: Enrolment, Params: map[string]string{"token": "one-time"}}, {ID: Revocation}}
	srv := httptest.NewServer(ControlsHandler("ca", func() []Active { return want }))
	defer srv.Close()
	role, got, err := FetchControls(context.Background(), srv.Client(), srv.URL+"/")
	if err != nil || role != "ca" || len(got) != 2 || got[0].ID != Enrolment || got[0].Params["token"] != "one-time" || got[1].ID != Revocation {
		t.Fatalf("FetchControls = %q, %+v, %v", role, got, err)
	}
	if _, _, err := FetchControls(context.Background(), srv.Client(), "ftp://x"); !errors.Is(err, ErrControlsAnswer) {
		t.Fatalf("ftp URL: %v, want ErrControlsAnswer", err)
	}
}

package pki_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/comms/pki/pkitest"
)

// TestFileStateSurvivesRestart runs a CA, "restarts" it from the same file
// and checks that used tokens, serials and revocations were remembered.
func TestFileStateSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ca-state.json")
	st, err := pki.OpenFileState(path)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca, err := pki.NewCA("root", key, st, t0, 24*time.Hour*3650)
	if err != nil {
		t.Fatal(err)
	}
	used, _ := ca.NewToken(pki.RoleMeter, "m1", "", time.Hour, t0)
	fresh, _ := ca.NewToken(pki.RoleMeter, "m2", "", time.Hour, t0)
	cert, err := ca.Enroll(used, csrFor(t, edKey(t), "m1"), t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := ca.Revoke(cert.SerialNumber, t0); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode: %v %v", fi, err)
	}

	st2, err := pki.OpenFileState(path)
	if err != nil {
		t.Fatal(err)
	}
	ca2, err := pki.LoadCA(ca.Certificate(), key, st2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ca2.Enroll(used, csrFor(t, edKey(t), "m1"), t0); !errors.Is(err, pki.ErrTokenUsed) {
		t.Fatalf("used token after restart: %v, want ErrTokenUsed", err)
	}
	cert2, err := ca2.Enroll(fresh, csrFor(t, edKey(t), "m2"), t0)
	if err != nil {
		t.Fatalf("fresh token after restart: %v", err)
	}
	if cert2.SerialNumber.Cmp(cert.SerialNumber) <= 0 {
		t.Fatalf("serial went backwards: %v after %v", cert2.SerialNumber, cert.SerialNumber)
	}
	revoked, err := st2.Revoked(time.Time{})
	if err != nil || len(revoked) != 1 || revoked[0].SerialNumber.Cmp(cert.SerialNumber) != 0 {
		t.Fatalf("revocations after restart: %v %v", revoked, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

func TestFileStateRejectsCorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.json")
	for _, body := range []string{"{", `{"version":2,"serial":1}`, `{"version":1,"serial":1,"extra":true}`, `{"version":1,"serial":-1}`} {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := pki.OpenFileState(path); !errors.Is(err, pki.ErrStateFile) {
			t.Errorf("%s: %v, want ErrStateFile", body, err)
		}
	}
}

func TestFileStateFailedWriteIsNotApplied(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.json")
	st, _ := pki.OpenFileState(path)
	if n, err := st.NextSerial(); err != nil || n.Int64() != 1 {
		t.Fatalf("first serial %v %v", n, err)
	}
	// A non-empty directory where the file should be makes the rename fail.
	os.Remove(path)
	if err := os.MkdirAll(filepath.Join(path, "block"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := st.NextSerial(); err == nil {
		t.Fatal("persisting over a directory succeeded")
	}
	os.RemoveAll(path)
	if n, err := st.NextSerial(); err != nil || n.Int64() != 2 {
		t.Fatalf("serial after a failed write = %v %v, want 2 (failed change rolled back)", n, err)
	}
}

func TestStateContract(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		pkitest.TestState(t, pkitest.Backend{Open: func(*testing.T) pki.State { return pki.NewMemState() }})
	})
	t.Run("file", func(t *testing.T) {
		var path string
		open := func(t *testing.T) pki.State {
			st, err := pki.OpenFileState(path)
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
		pkitest.TestState(t, pkitest.Backend{
			Open: func(t *testing.T) pki.State {
				path = filepath.Join(t.TempDir(), "state.json")
				return open(t)
			},
			Reopen: open,
		})
	})
}

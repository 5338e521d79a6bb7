package dbstate_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/comms/pki/dbstate"
	"github.com/usapp/usapp/comms/pki/pkitest"
	"github.com/usapp/usapp/platform/sqldb"
	"github.com/usapp/usapp/platform/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// backends runs fn on a fresh SQLite file and a fresh PostgreSQL database.
func backends(t *testing.T, fn func(t *testing.T, dsn string)) {
	pgtest.Backends(t, "ca.db", func(t *testing.T, _, dsn string) { fn(t, dsn) })
}

func open(t *testing.T, dsn string) *dbstate.State {
	t.Helper()
	st, err := dbstate.Open(context.Background(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestStateContract(t *testing.T) {
	t.Run(sqldb.SQLite, func(t *testing.T) {
		var path string
		pkitest.TestState(t, pkitest.Backend{
			Open: func(t *testing.T) pki.State {
				path = filepath.Join(t.TempDir(), "ca.db")
				return open(t, path)
			},
			Reopen: func(t *testing.T) pki.State { return open(t, path) },
		})
	})
	t.Run(sqldb.Postgres, func(t *testing.T) {
		var dsn string
		pkitest.TestState(t, pkitest.Backend{
			Open: func(t *testing.T) pki.State {
				dsn = pgtest.Start(t)
				return open(t, dsn)
			},
			Reopen: func(t *testing.T) pki.State { return open(t, dsn) },
		})
	})
}

// newFileCA runs a CA on a FileState the way roles/ca did before databases:
// one enrolment, one token left, one revocation.
func newFileCA(t *testing.T, path string) (ca *pki.CA, key *ecdsa.PrivateKey, used, fresh string, enrolled *x509.Certificate) {
	t.Helper()
	st, err := pki.OpenFileState(path)
	if err != nil {
		t.Fatal(err)
	}
	key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if ca, err = pki.NewCA("root", key, st, t0, 10*365*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	used, _ = ca.NewToken(pki.RoleMeter, "m1", "", time.Hour, t0)
	fresh, _ = ca.NewToken(pki.RoleMeter, "m2", "", time.Hour, t0)
	if enrolled, err = ca.Enroll(used, csr(t, "m1"), t0); err != nil {
		t.Fatal(err)
	}
	if err := ca.Revoke(enrolled.SerialNumber, t0); err != nil {
		t.Fatal(err)
	}
	return ca, key, used, fresh, enrolled
}

func csr(t *testing.T, name string) *x509.CertificateRequest {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	r, err := pki.NewCSR(key, name)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A CA that ran on a state file carries on from the database: the used
// token stays used, the fresh one works, serials go on, the revocation holds.
func TestImportFile(t *testing.T) {
	backends(t, func(t *testing.T, dsn string) {
		dir := t.TempDir()
		file, certs := filepath.Join(dir, "state.json"), filepath.Join(dir, "certs")
		ca, key, used, fresh, enrolled := newFileCA(t, file)
		// roles/ca kept each certificate as a DER file beside the state.
		if err := os.Mkdir(certs, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(certs, "m1.der"), enrolled.Raw, 0o600); err != nil {
			t.Fatal(err)
		}
		st := open(t, dsn)
		if found, err := st.ImportFile(context.Background(), file, certs); err != nil || !found {
			t.Fatalf("ImportFile = %v, %v", found, err)
		}
		if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("state file still in place after import: %v", err)
		}
		if _, err := os.Stat(file + dbstate.ImportedSuffix); err != nil {
			t.Fatalf("state file not moved aside: %v", err)
		}
		ca2, err := pki.LoadCA(ca.Certificate(), key, st)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ca2.Enroll(used, csr(t, "m1"), t0); !errors.Is(err, pki.ErrTokenUsed) {
			t.Fatalf("used token after import: %v, want ErrTokenUsed", err)
		}
		cert, err := ca2.Enroll(fresh, csr(t, "m2"), t0)
		if err != nil {
			t.Fatalf("fresh token after import: %v", err)
		}
		if cert.SerialNumber.Cmp(enrolled.SerialNumber) <= 0 {
			t.Fatalf("serial %v after import, want above %v", cert.SerialNumber, enrolled.SerialNumber)
		}
		rev, err := st.Revoked(time.Time{})
		if err != nil || len(rev) != 1 || rev[0].SerialNumber.Cmp(enrolled.SerialNumber) != 0 || !rev[0].RevocationTime.Equal(t0) {
			t.Fatalf("revocations after import: %v %v", rev, err)
		}
		got, err := st.Issued(context.Background(), pki.FiledUnder(enrolled))
		if err != nil || len(got) != 1 || !got[0].Equal(enrolled) {
			t.Fatalf("imported certificate by identity: %d certificates, %v", len(got), err)
		}
		if c, err := st.IssuedSerial(context.Background(), enrolled.SerialNumber); err != nil || c == nil || !c.Equal(enrolled) {
			t.Fatalf("imported certificate by serial: %v, %v", c, err)
		}
		if c, err := st.IssuedSerial(context.Background(), new(big.Int).Add(cert.SerialNumber, big.NewInt(1))); err != nil || c != nil {
			t.Fatalf("a serial never issued: %v, %v; want none", c, err)
		}
		// Nothing left to import: a second call finds no file.
		if found, err := st.ImportFile(context.Background(), file, ""); err != nil || found {
			t.Fatalf("second ImportFile = %v, %v", found, err)
		}
	})
}

// A database that already holds state refuses an import and keeps the file
// in place; a malformed file is refused before anything is written.
func TestImportRefusals(t *testing.T) {
	backends(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		dir := t.TempDir()
		st := open(t, dsn)

		bad := filepath.Join(dir, "bad.json")
		if err := os.WriteFile(bad, []byte(`{"version":1,"serial":3,"tokens":{"zz":{}}}`), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := st.ImportFile(ctx, bad, ""); !errors.Is(err, pki.ErrStateFile) {
			t.Fatalf("malformed file: %v, want pki.ErrStateFile", err)
		}
		if n, err := st.NextSerial(); err != nil || n.Int64() != 1 {
			t.Fatalf("first serial after a refused import = %v %v, want 1", n, err)
		}

		file := filepath.Join(dir, "state.json")
		newFileCA(t, file)
		if _, err := st.ImportFile(ctx, file, ""); !errors.Is(err, dbstate.ErrNotEmpty) {
			t.Fatalf("import into a used database: %v, want ErrNotEmpty", err)
		}
		if _, err := os.Stat(file); err != nil {
			t.Fatalf("refused file was moved: %v", err)
		}
	})
}

// A crash between the import's commit and the file's rename: the next start
// finds the file again, recognises it, and only moves it aside.
func TestImportAfterACrash(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "state.json")
	newFileCA(t, file)
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	st := open(t, filepath.Join(dir, "ca.db"))
	if _, err := st.ImportFile(ctx, file, ""); err != nil {
		t.Fatal(err)
	}
	next, _ := st.NextSerial()
	// The rename "did not happen": the file is back, unchanged.
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if found, err := st.ImportFile(ctx, file, ""); err != nil || !found {
		t.Fatalf("ImportFile of the imported file = %v, %v", found, err)
	}
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("file not moved aside: %v", err)
	}
	if again, _ := st.NextSerial(); again.Cmp(next) <= 0 {
		t.Fatalf("serial %v after the second import, want above %v: the file was applied twice", again, next)
	}
	// A different file is still refused.
	if err := os.WriteFile(file, append(raw, ' '), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportFile(ctx, file, ""); !errors.Is(err, dbstate.ErrNotEmpty) {
		t.Fatalf("another file: %v, want ErrNotEmpty", err)
	}
}

// enrolAndRenew runs a CA on st that enrols meter m1 and renews it an hour
// later.
func enrolAndRenew(t *testing.T, st pki.State) (ca *pki.CA, first, second *x509.Certificate) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca, err := pki.NewCA("root", key, st, t0, 10*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := ca.NewToken(pki.RoleMeter, "m1", "", time.Hour, t0)
	if first, err = ca.Enroll(tok, csr(t, "m1"), t0); err != nil {
		t.Fatal(err)
	}
	if second, err = ca.Renew(first, csr(t, "m1"), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	return ca, first, second
}

// enrol enrols one more meter at t0.
func enrol(t *testing.T, ca *pki.CA, name string) *x509.Certificate {
	t.Helper()
	tok, _ := ca.NewToken(pki.RoleMeter, name, "", time.Hour, t0)
	cert, err := ca.Enroll(tok, csr(t, name), t0)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// RecordIssued keeps the certificate itself, filed under the device's
// identity, so that renewals of one device can be found together.
func TestRecordIssuedKeepsTheCertificate(t *testing.T) {
	backends(t, func(t *testing.T, dsn string) {
		st := open(t, dsn)
		_, first, second := enrolAndRenew(t, st)
		got, err := st.Issued(context.Background(), pki.FiledUnder(first))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || !got[0].Equal(first) || !got[1].Equal(second) {
			t.Fatalf("Issued(identity) = %d certificates, want the enrolment and its renewal in order", len(got))
		}
		if err := st.RecordIssued(first); err == nil {
			t.Fatal("a serial was recorded twice")
		}
	})
}

// Revoking an identity revokes every certificate of the device, its
// renewals included; an identity or serial never issued is refused.
func TestRevokeIdentityAndSerial(t *testing.T) {
	backends(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		st := open(t, dsn)
		ca, first, second := enrolAndRenew(t, st)
		bystander := enrol(t, ca, "m2")
		got, err := st.RevokeIdentity(ctx, pki.FiledUnder(first), t0.Add(2*time.Hour))
		if err != nil || len(got) != 2 || got[0].Cmp(first.SerialNumber) != 0 || got[1].Cmp(second.SerialNumber) != 0 {
			t.Fatalf("RevokeIdentity = %v, %v; want the serials of m1's two certificates", got, err)
		}
		rev, err := st.Revoked(time.Time{})
		if err != nil || len(rev) != 2 || rev[0].SerialNumber.Cmp(first.SerialNumber) != 0 || rev[1].SerialNumber.Cmp(second.SerialNumber) != 0 {
			t.Fatalf("Revoked() = %v, %v; want the two certificates of m1 only", rev, err)
		}
		if _, err := st.RevokeIdentity(ctx, "0000000000000000000000000000000000000000", t0); !errors.Is(err, dbstate.ErrNoCertificate) {
			t.Fatalf("unknown identity: %v, want ErrNoCertificate", err)
		}
		if err := st.RevokeSerial(ctx, new(big.Int).Add(bystander.SerialNumber, big.NewInt(100)), t0); !errors.Is(err, dbstate.ErrNoCertificate) {
			t.Fatalf("unknown serial: %v, want ErrNoCertificate", err)
		}
		if err := st.RevokeSerial(ctx, bystander.SerialNumber, t0); err != nil {
			t.Fatal(err)
		}
		if rev, _ := st.Revoked(time.Time{}); len(rev) != 3 {
			t.Fatalf("%d revocations after RevokeSerial, want 3", len(rev))
		}
	})
}

func TestList(t *testing.T) {
	backends(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		st := open(t, dsn)
		ca, first, second := enrolAndRenew(t, st)
		odd := enrol(t, ca, "home_3%")
		if _, err := st.RevokeIdentity(ctx, pki.FiledUnder(first), t0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		serials := func(ls []dbstate.Listing) (out []string) {
			for _, l := range ls {
				out = append(out, l.Serial.Text(16))
			}
			return out
		}
		hex := func(cs ...*x509.Certificate) (out []string) {
			for _, c := range cs {
				out = append(out, c.SerialNumber.Text(16))
			}
			return out
		}
		for name, c := range map[string]struct {
			q    dbstate.Query
			want []string
		}{
			"everything, newest first":   {dbstate.Query{}, hex(odd, second, first, ca.Certificate())},
			"limit":                      {dbstate.Query{Limit: 1}, hex(odd)},
			"a device and its renewal":   {dbstate.Query{LFDI: strings.ToLower(pki.FiledUnder(first))}, hex(second, first)},
			"one certificate's LFDI":     {dbstate.Query{LFDI: pki.LFDI(second.Raw)}, hex(second)},
			"subject, any case":          {dbstate.Query{Subject: "cn=M1"}, hex(second, first)},
			"% and _ taken literally":    {dbstate.Query{Subject: "home_3%"}, hex(odd)},
			"a wildcard matches nothing": {dbstate.Query{Subject: "home%3"}, nil},
		} {
			got, err := st.List(ctx, c.q)
			if err != nil || !slices.Equal(serials(got), c.want) {
				t.Errorf("%s: List = %v, %v; want %v", name, serials(got), err, c.want)
			}
		}
		got, err := st.List(ctx, dbstate.Query{LFDI: pki.FiledUnder(first)})
		if err != nil || len(got) != 2 {
			t.Fatalf("List(m1) = %v, %v", got, err)
		}
		for _, l := range got {
			if !l.RevokedAt.Equal(t0.Add(2*time.Hour)) || l.Identity != pki.FiledUnder(first) || !l.NotAfter.Equal(l.NotAfter.UTC()) {
				t.Errorf("listing %s: %+v, want revoked at %v, filed under %s", l.Serial.Text(16), l, t0.Add(2*time.Hour), pki.FiledUnder(first))
			}
		}
		if odd, _ := st.List(ctx, dbstate.Query{Subject: "home_3"}); len(odd) != 1 || !odd[0].RevokedAt.IsZero() {
			t.Errorf("a certificate not revoked: %+v", odd)
		}
		if _, err := st.List(ctx, dbstate.Query{Limit: -1}); !errors.Is(err, pki.ErrInvalid) {
			t.Errorf("negative limit: %v, want pki.ErrInvalid", err)
		}
	})
}

package dbstate_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/comms/pki/dbstate"
	"github.com/usapp/usapp/comms/pki/pkitest"
	"github.com/usapp/usapp/platform/sqldb"
	"github.com/usapp/usapp/platform/store/pgtest"
)

// BenchmarkEnrollState compares what a durable CA state costs an enrolment
// (four changes: token stored, token used, serial, audit record) as the
// fleet grows, on the same CA: the memory state (nothing durable, the
// ceiling), pki.FileState (rewrites and fsyncs its whole file at each
// change), and this package on SQLite (WAL, synchronous=FULL) and
// PostgreSQL. Every durable state starts from the same state file, listing
// the certificates already issued; the databases import it. The test
// cluster of pgtest runs with fsync off, so its figure is an upper bound for
// a real server.
//
//	go test ./comms/pki/dbstate -run xxx -bench EnrollState -benchtime 200x
func BenchmarkEnrollState(b *testing.B) {
	for _, fleet := range []int{0, 10_000, 100_000} {
		for _, backend := range []string{"memory", "file", sqldb.SQLite, sqldb.Postgres} {
			if backend == "memory" && fleet > 0 {
				continue // the memory state does not grow with the fleet
			}
			b.Run(fmt.Sprintf("state=%s/issued=%d", backend, fleet), func(b *testing.B) {
				st := benchState(b, backend, fleet)
				key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
				if err != nil {
					b.Fatal(err)
				}
				ca, err := pki.NewCA("USaPP Test Root", key, st, t0, 10*365*24*time.Hour)
				if err != nil {
					b.Fatal(err)
				}
				pkitest.EnrolMeters(b, ca, t0)
			})
		}
	}
}

// benchState opens a state of the given backend holding fleet issued
// certificates.
func benchState(b *testing.B, backend string, fleet int) pki.State {
	b.Helper()
	if backend == "memory" {
		return pki.NewMemState()
	}
	dir := b.TempDir()
	file := filepath.Join(dir, "state.json")
	if err := os.WriteFile(file, stateWithIssued(fleet), 0o600); err != nil {
		b.Fatal(err)
	}
	if backend == "file" {
		st, err := pki.OpenFileState(file)
		if err != nil {
			b.Fatal(err)
		}
		return st
	}
	dsn := filepath.Join(dir, "ca.db")
	if backend == sqldb.Postgres {
		dsn = pgtest.Start(b)
	}
	st, err := dbstate.Open(context.Background(), dsn, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if _, err := st.ImportFile(context.Background(), file, ""); err != nil {
		b.Fatal(err)
	}
	return st
}

// stateWithIssued is a state file whose audit trail lists n certificates.
func stateWithIssued(n int) []byte {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, `{"version":1,"serial":%d,"tokens":{},"revoked":{},"issued":[`, n)
	for i := range n {
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `{"serial":"%x","lfdi":"%040X","subject":"OU=meter,CN=m-%d","not_after":"2031-01-01T00:00:00Z"}`, i+1, i+1, i)
	}
	buf.WriteString("]}")
	return buf.Bytes()
}

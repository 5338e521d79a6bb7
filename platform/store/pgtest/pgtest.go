// Package pgtest starts a throwaway PostgreSQL cluster for tests, so that code
// which supports PostgreSQL (platform/store and its users) is tested against
// the real server instead of a mock.
//
// # Use
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		dsn := pgtest.Start(t) // postgres://... of a fresh, empty database
//		...
//	}
//
// # One cluster per test binary
//
// Starting a cluster (initdb + server start) costs one to two seconds, creating
// a database costs tens of milliseconds. So the first Start in a process
// creates the cluster and every Start creates a new database in it
// (CREATE DATABASE), which is dropped again at t.Cleanup. Tests therefore stay
// isolated from each other while the binary pays for one cluster. Shutdown
// stops the cluster and deletes its files; Main calls it after m.Run. A later
// Start after Shutdown starts a new cluster.
//
// # No orphans
//
// The server is run directly as a child of the test binary (initdb prepares
// the data directory; the server is not daemonised with pg_ctl) with the Linux
// parent-death signal set to SIGKILL: when the test binary dies for any
// reason, including a test timeout or kill -9, the kernel kills the server,
// and its backends follow on postmaster death. Shutdown stops it with SIGQUIT,
// PostgreSQL's immediate shutdown. A directory left behind by a killed binary
// is removed by the next Start on the machine: each cluster directory records
// the PID of its owner, and directories whose owner is gone are swept.
//
// # Root
//
// initdb and postgres refuse to run as root. When the effective user is root,
// both run as the "postgres" user (created by Debian's postgresql package)
// through the process credentials of os/exec, and the cluster directory is
// created under os.TempDir() (or /tmp when that is closed to other users) and
// handed to that user, because t.TempDir() is private to root.
//
// The server listens on a unix socket in the cluster directory only
// (listen_addresses is empty), runs with fsync off and trusts local users: it
// is for tests and nothing else.
//
// # Missing binaries
//
// Start looks for initdb and postgres in PATH, then in
// /usr/lib/postgresql/*/bin (newest version first). When they are missing it
// calls t.Skip with the package to install ("postgresql"; .ci/run installs it),
// so the skip is visible in go test -v output and never passes silently as a
// run against PostgreSQL.
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	// The pgx driver registers itself as "pgx" for database/sql.
	_ "github.com/jackc/pgx/v5/stdlib"
)

// ErrNoBinaries reports that initdb or postgres could not be found.
var ErrNoBinaries = errors.New("pgtest: PostgreSQL server binaries (initdb, postgres) not found")

// installHint says what to install when the binaries are missing.
const installHint = `install the Debian package "postgresql" (apt-get install postgresql; .ci/run installs it)`

var (
	mu      sync.Mutex
	current *cluster
	dbSeq   int
)

// Start returns the DSN of a fresh, empty database owned by the superuser
// "postgres", in the process-wide test cluster (started on first use). The
// database is dropped at t.Cleanup. Start skips the test when PostgreSQL is
// not installed and fails it when the cluster cannot start.
func Start(t testing.TB) string {
	t.Helper()
	dsn, err := newDatabase(t.Name())
	switch {
	case errors.Is(err, ErrNoBinaries):
		t.Skipf("%v; %s", err, installHint)
	case err != nil:
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() { dropDatabase(dsn) })
	return dsn
}

// Backends runs fn as two subtests named after the dialects, so that code
// which supports both backends is tested on both by one test: "sqlite" on
// a fresh file named file in t.TempDir(), and "postgres" on a fresh database
// from Start (skipped, visibly, where PostgreSQL is not installed).
func Backends(t *testing.T, file string, fn func(t *testing.T, dialect, dsn string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, "sqlite", filepath.Join(t.TempDir(), file)) })
	t.Run("postgres", func(t *testing.T) { fn(t, "postgres", Start(t)) })
}

// Main runs the tests and then shuts the shared cluster down, so that no
// server and no files outlive the test binary. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	Shutdown()
	os.Exit(code)
}

// Shutdown stops the shared cluster, if one is running, and deletes its
// files. It is safe to call more than once and from TestMain.
func Shutdown() {
	mu.Lock()
	c := current
	current = nil
	mu.Unlock()
	if c != nil {
		c.stop()
	}
}

// newDatabase creates a database in the running cluster, starting the cluster
// first when needed.
func newDatabase(testName string) (string, error) {
	mu.Lock()
	defer mu.Unlock()
	if current == nil {
		c, err := startCluster()
		if err != nil {
			return "", err
		}
		current = c
	}
	dbSeq++
	name := fmt.Sprintf("pgtest_%d", dbSeq)
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	// The name is ours (a counter), never user input, so quoting is enough.
	if _, err := current.admin.ExecContext(ctx, `CREATE DATABASE "`+name+`"`); err != nil {
		return "", fmt.Errorf("create database for %s: %w", testName, err)
	}
	return current.dsn(name), nil
}

// dropDatabase removes a test database; it does nothing when the cluster has
// already been shut down.
func dropDatabase(dsn string) {
	u, err := url.Parse(dsn)
	if err != nil {
		return
	}
	name := u.Path[1:]
	mu.Lock()
	defer mu.Unlock()
	if current == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	// FORCE ends connections a test forgot to close (PostgreSQL 13+).
	_, _ = current.admin.ExecContext(ctx, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`)
}

// openAdmin connects to the maintenance database of a cluster.
func openAdmin(dsn string) (*sql.DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(2)
	return db, nil
}

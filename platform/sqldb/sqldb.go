// Package sqldb opens the SQL databases USaPP keeps durable state in, and
// migrates their schemas. It is the one place that knows how a data source
// name picks a backend and how each backend is made durable; the packages
// that own tables (platform/store for the head-end's readings and ledger,
// comms/pki/dbstate for the CA's memory) bring their own SQL.
//
// Controls: none by itself; it carries the durability that A1.enrolment,
// A1.revocation, A1.replay-protection and B3.integrity-feedback rely on.
//
// # Backends and data source names
//
// SQLite (modernc.org/sqlite, pure Go) is the default; PostgreSQL (pgx) is
// used when the DSN is a postgres:// or postgresql:// URL:
//
//	postgres://user:pass@host:5432/db?sslmode=verify-full   PostgreSQL (also postgresql://)
//	/var/lib/usapp/headend.db                               SQLite file (created with its directory)
//	sqlite:/var/lib/usapp/headend.db                        the same
//	file:/var/lib/usapp/headend.db?cache=private            an SQLite URI; the pragmas below are appended
//
// Anything else, and in-memory SQLite (each pooled connection would get its
// own database), is ErrBadDSN with a hint. Error messages never repeat a DSN,
// which may hold a password.
//
// SQLite runs in WAL mode with synchronous=FULL, so a transaction that
// committed survives a power cut, and takes its write lock at BEGIN, so two
// writers never deadlock on a lock upgrade.
//
// # Migrations
//
// [DB.Migrate] applies embedded SQL files (DIR/<dialect>/NNNN_name.sql), each
// in its own transaction that also records it in the schema's own table, so
// that several schemas can share one database without their versions
// colliding. A database migrated by a newer program is refused
// ([ErrSchemaVersion]) rather than used.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	// Drivers: "pgx" and "sqlite" for database/sql.
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

// The dialects, as [DB.Dialect] reports them.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Errors returned by Open and Migrate; match them with errors.Is.
var (
	ErrBadDSN        = errors.New("sqldb: bad data source name")
	ErrSchemaVersion = errors.New("sqldb: database schema is newer than this program")
)

// DB is an open database and its dialect.
type DB struct {
	*sql.DB
	dialect string
}

// Open connects to the database named by dsn. A dsn starting with
// postgres:// or postgresql:// selects PostgreSQL; sqlite:PATH, file:PATH (an
// SQLite URI) or a plain path selects SQLite, creating the file and its
// directory when missing.
func Open(ctx context.Context, dsn string) (*DB, error) {
	t, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	if t.path != "" {
		if err := os.MkdirAll(filepath.Dir(t.path), 0o750); err != nil {
			return nil, fmt.Errorf("sqldb: create database directory: %w", err)
		}
	}
	db, err := sql.Open(t.driver, t.dsn)
	if err != nil {
		return nil, fmt.Errorf("sqldb: open %s: %w", t.dialect, err)
	}
	// Keep connections warm: an SQLite connection applies its pragmas and a
	// PostgreSQL one its handshake on every open.
	db.SetMaxIdleConns(8)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqldb: connect to %s: %w", t.dialect, err)
	}
	return &DB{DB: db, dialect: t.dialect}, nil
}

// Dialect reports the backend: SQLite or Postgres.
func (db *DB) Dialect() string { return db.dialect }

// Rebind turns a query written with "?" placeholders into the dialect's:
// unchanged for SQLite, "$1", "$2", ... for PostgreSQL. Queries must hold no
// "?" in literals.
func (db *DB) Rebind(q string) string {
	if db.dialect != Postgres {
		return q
	}
	return RebindDollar(q)
}

// RebindDollar turns "?" placeholders into PostgreSQL's "$1", "$2", ...
func RebindDollar(q string) string {
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

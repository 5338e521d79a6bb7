package sqldb

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestParseDSN(t *testing.T) {
	for _, tc := range []struct {
		dsn, dialect, driverPrefix string
	}{
		{"postgres://u:p@h:5432/db?sslmode=disable", Postgres, "postgres://u:p@h"},
		{"postgresql://h/db", Postgres, "postgresql://h/db"},
		{"POSTGRES://h/db", Postgres, "POSTGRES://h/db"},
		{"/var/lib/usapp/headend.db", SQLite, "file:///var/lib/usapp/headend.db?_pragma=busy_timeout"},
		{"sqlite:/var/lib/x.db", SQLite, "file:///var/lib/x.db?"},
		{"sqlite:///var/lib/x.db", SQLite, "file:///var/lib/x.db?"},
		{"file:/var/lib/x.db", SQLite, "file:/var/lib/x.db?_pragma="},
		{"file:/var/lib/x.db?cache=shared", SQLite, "file:/var/lib/x.db?cache=shared&_pragma="},
		{"/tmp/what?#%.db", SQLite, "file:///tmp/what%3F%23%25.db?"},
		{`C:\data\x.db`, SQLite, "file://"},
	} {
		got, err := parseDSN(tc.dsn)
		if err != nil {
			t.Errorf("parseDSN(%q): %v", tc.dsn, err)
			continue
		}
		if got.dialect != tc.dialect || !strings.HasPrefix(got.dsn, tc.driverPrefix) {
			t.Errorf("parseDSN(%q) = %s %q, want %s %q...", tc.dsn, got.dialect, got.dsn, tc.dialect, tc.driverPrefix)
		}
		if got.dialect == SQLite && !strings.Contains(got.dsn, "synchronous(FULL)") {
			t.Errorf("parseDSN(%q) lacks synchronous=FULL: %q", tc.dsn, got.dsn)
		}
	}
}

func TestOpenBadDSN(t *testing.T) {
	for _, dsn := range []string{"", "mysql://root:hunter2@db/x", ":memory:", "file::memory:", "file:?mode=memory", "sqlite:", "file:x.db?mode=memory", "a\x00b"} {
		_, err := Open(context.Background(), dsn)
		if !errors.Is(err, ErrBadDSN) {
			t.Errorf("Open(%q) = %v, want ErrBadDSN", dsn, err)
			continue
		}
		if !strings.Contains(err.Error(), "hint") && dsn != "a\x00b" {
			t.Errorf("Open(%q): error has no hint: %v", dsn, err)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error repeats the password: %v", err)
		}
	}
}

func TestOpenUnreachablePostgres(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Open(ctx, "postgres://nobody@127.0.0.1:1/none?connect_timeout=1")
	if err == nil {
		t.Fatal("Open of an unreachable server succeeded")
	}
}

// FuzzParseDSN checks that any DSN either is rejected with ErrBadDSN or
// names a backend consistently with its scheme, and never echoes the DSN.
func FuzzParseDSN(f *testing.F) {
	for _, s := range []string{"", "postgres://u:secret@h/db", "postgresql://", "sqlite:x.db", "sqlite:///a",
		"file:x.db?a=b", "x.db", ":memory:", "mysql://x", "C:/x", "file:", "?", "sqlite:?"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		got, err := parseDSN(dsn)
		if err != nil {
			if !errors.Is(err, ErrBadDSN) {
				t.Fatalf("parseDSN(%q) = %v, not ErrBadDSN", dsn, err)
			}
			if len(dsn) > 8 && strings.Contains(err.Error(), dsn) {
				t.Fatalf("error repeats the DSN: %v", err)
			}
			return
		}
		lower := strings.ToLower(dsn)
		isPG := strings.HasPrefix(lower, "postgres://") || strings.HasPrefix(lower, "postgresql://") ||
			strings.HasPrefix(lower, "postgres:") || strings.HasPrefix(lower, "postgresql:")
		switch {
		case isPG && got.dialect != Postgres, !isPG && got.dialect != SQLite:
			t.Fatalf("parseDSN(%q) chose %s", dsn, got.dialect)
		case got.dialect == SQLite && (got.driver != "sqlite" || !strings.HasPrefix(got.dsn, "file:")):
			t.Fatalf("parseDSN(%q) = %+v: SQLite must get a file: URI", dsn, got)
		case got.dialect == Postgres && (got.driver != "pgx" || got.dsn != dsn):
			t.Fatalf("parseDSN(%q) = %+v: PostgreSQL gets the URL unchanged", dsn, got)
		}
	})
}

package sqldb

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/usapp/usapp/platform/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// dialects runs fn once per backend, each on a fresh database.
func dialects(t *testing.T, fn func(t *testing.T, dsn string)) {
	pgtest.Backends(t, "x.db", func(t *testing.T, _, dsn string) { fn(t, dsn) })
}

func open(t *testing.T, dsn string) *DB {
	t.Helper()
	db, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// schemaOf builds a schema whose migrations are the same on both dialects.
func schemaOf(table string, files map[string]string) Schema {
	fsys := fstest.MapFS{}
	for name, sql := range files {
		for _, d := range []string{SQLite, Postgres} {
			fsys["m/"+d+"/"+name] = &fstest.MapFile{Data: []byte(sql)}
		}
	}
	return Schema{FS: fsys, Dir: "m", Table: table}
}

func count(t *testing.T, db *DB, q string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// Two schemas share a database: each records its own versions, so the
// second's 0001 is not taken for already applied.
func TestSchemasShareADatabase(t *testing.T) {
	dialects(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := open(t, dsn)
		a := schemaOf("a_migrations", map[string]string{"0001_a.sql": "CREATE TABLE a (x BIGINT)", "0002_more.sql": "CREATE TABLE a2 (x BIGINT)"})
		b := schemaOf("b_migrations", map[string]string{"0001_b.sql": "CREATE TABLE b (x BIGINT)"})
		for range 2 { // the second round applies nothing
			if err := db.Migrate(ctx, a, nil); err != nil {
				t.Fatal(err)
			}
			if err := db.Migrate(ctx, b, nil); err != nil {
				t.Fatal(err)
			}
		}
		if n := count(t, db, "SELECT COUNT(*) FROM a_migrations"); n != 2 {
			t.Fatalf("a_migrations holds %d rows, want 2", n)
		}
		if n := count(t, db, "SELECT COUNT(*) FROM b_migrations"); n != 1 {
			t.Fatalf("b_migrations holds %d rows, want 1", n)
		}
		count(t, db, "SELECT COUNT(*) FROM b") // exists
	})
}

// A failing step leaves the schema at the step before, and a database from
// a newer program is refused.
func TestMigrationFailureAndFutureSchema(t *testing.T) {
	dialects(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := open(t, dsn)
		bad := schemaOf("m_migrations", map[string]string{"0001_ok.sql": "CREATE TABLE ok (x BIGINT)", "0002_bad.sql": "CREATE TABLE half (x BIGINT); NOT SQL"})
		if err := db.Migrate(ctx, bad, nil); err == nil {
			t.Fatal("a broken migration was applied")
		}
		if n := count(t, db, "SELECT COUNT(*) FROM m_migrations"); n != 1 {
			t.Fatalf("m_migrations holds %d rows after a failed step, want 1", n)
		}
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM half").Scan(&n); err == nil {
			t.Fatal("the failed step's first statement was kept")
		}
		if _, err := db.Exec("INSERT INTO m_migrations (version, name, applied_at) VALUES (9, 'future', 0)"); err != nil {
			t.Fatal(err)
		}
		good := schemaOf("m_migrations", map[string]string{"0001_ok.sql": "CREATE TABLE ok (x BIGINT)"})
		if err := db.Migrate(ctx, good, nil); !errors.Is(err, ErrSchemaVersion) {
			t.Fatalf("Migrate on a newer database: %v, want ErrSchemaVersion", err)
		}
	})
}

func TestSchemaMistakes(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "x.db"))
	for name, s := range map[string]Schema{
		"bad table":    schemaOf("x; DROP TABLE y", map[string]string{"0001_a.sql": "SELECT 1"}),
		"bad name":     schemaOf("t", map[string]string{"first.sql": "SELECT 1"}),
		"same version": schemaOf("t", map[string]string{"0001_a.sql": "SELECT 1", "01_b.sql": "SELECT 1"}),
		"empty":        {FS: fstest.MapFS{"m/sqlite/README": {}}, Dir: "m", Table: "t"},
	} {
		if err := db.Migrate(context.Background(), s, nil); err == nil {
			t.Errorf("%s: Migrate succeeded", name)
		}
	}
}

func TestRebind(t *testing.T) {
	if got := RebindDollar("SELECT a FROM t WHERE b = ? AND c IN (?, ?)"); got != "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)" {
		t.Fatalf("RebindDollar = %q", got)
	}
}

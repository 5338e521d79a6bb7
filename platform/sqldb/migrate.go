package sqldb

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Schema is a set of migrations and the table that records which were
// applied.
type Schema struct {
	// FS holds Dir/sqlite/NNNN_name.sql and Dir/postgres/NNNN_name.sql.
	FS  fs.FS
	Dir string
	// Table records the applied versions (version, name, applied_at). Each
	// schema sharing a database needs its own.
	Table string
}

// Migration is one schema step, from DIR/<dialect>/NNNN_name.sql.
type Migration struct {
	Version int64
	Name    string
	SQL     string
}

// tableName keeps Table safe to splice into SQL.
var tableName = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// Migrations reads the schema's migrations for a dialect, in version order.
func (s Schema) Migrations(dialect string) ([]Migration, error) {
	dir := path.Join(s.Dir, dialect)
	entries, err := fs.ReadDir(s.FS, dir)
	if err != nil {
		return nil, fmt.Errorf("sqldb: migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("sqldb: migration %s: name must be NNNN_name.sql", e.Name())
		}
		b, err := fs.ReadFile(s.FS, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("sqldb: migration %s: %w", e.Name(), err)
		}
		ms = append(ms, Migration{Version: v, Name: e.Name(), SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("sqldb: migrations %s and %s share a version", ms[i-1].Name, ms[i].Name)
		}
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("sqldb: no migrations in %s", dir)
	}
	return ms, nil
}

// Migrate applies the schema's pending migrations, each in its own
// transaction that also records it, so a failed step leaves the schema at the
// previous one. A database migrated by a newer program is refused
// (ErrSchemaVersion) rather than used. A nil log discards log output.
func (db *DB) Migrate(ctx context.Context, s Schema, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if !tableName.MatchString(s.Table) {
		return fmt.Errorf("sqldb: migration table %q: want lower-case letters, digits and _", s.Table)
	}
	ms, err := s.Migrations(db.dialect)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if err := db.applyMigration(ctx, s.Table, m, log); err != nil {
			return err
		}
	}
	var latest int64
	if err := db.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM "+s.Table).Scan(&latest); err != nil {
		return fmt.Errorf("sqldb: schema version: %w", err)
	}
	if known := ms[len(ms)-1].Version; latest > known {
		return fmt.Errorf("%w: %s at version %d, this program knows up to %d", ErrSchemaVersion, s.Table, latest, known)
	}
	return nil
}

// migrationLock serialises concurrent PostgreSQL migrators (two daemons
// starting at once); SQLite's BEGIN IMMEDIATE already does.
const migrationLock = "SELECT pg_advisory_xact_lock(7153298340219)"

func (db *DB) applyMigration(ctx context.Context, table string, m Migration, log *slog.Logger) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqldb: migration %s: %w", m.Name, err)
	}
	defer tx.Rollback()
	if db.dialect == Postgres {
		if _, err := tx.ExecContext(ctx, migrationLock); err != nil {
			return fmt.Errorf("sqldb: migration lock: %w", err)
		}
	}
	_, err = tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+table+` (
		version    BIGINT PRIMARY KEY,
		name       TEXT   NOT NULL,
		applied_at BIGINT NOT NULL)`)
	if err != nil {
		return fmt.Errorf("sqldb: %s: %w", table, err)
	}
	var done int
	if err := tx.QueryRowContext(ctx, db.Rebind("SELECT COUNT(*) FROM "+table+" WHERE version = ?"), m.Version).Scan(&done); err != nil {
		return fmt.Errorf("sqldb: migration %s: %w", m.Name, err)
	}
	if done > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return fmt.Errorf("sqldb: migration %s: %w", m.Name, err)
	}
	record := db.Rebind("INSERT INTO " + table + " (version, name, applied_at) VALUES (?, ?, ?)")
	if _, err := tx.ExecContext(ctx, record, m.Version, m.Name, time.Now().Unix()); err != nil {
		return fmt.Errorf("sqldb: migration %s: %w", m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqldb: migration %s: %w", m.Name, err)
	}
	log.Info("schema migrated", "table", table, "version", m.Version, "name", m.Name)
	return nil
}

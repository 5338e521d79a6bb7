package sqldb

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// sqlitePragmas are applied to every SQLite connection: WAL lets readers
// run during a commit, synchronous=FULL makes a returned Commit durable
// across power loss, busy_timeout waits out another process's write lock
// instead of failing, and BEGIN IMMEDIATE takes the write lock at the start
// of a transaction so two writers never deadlock on a lock upgrade.
const sqlitePragmas = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
	"&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_txlock=immediate"

// target is a parsed data source name.
type target struct {
	dialect string // SQLite or Postgres
	driver  string // database/sql driver name
	dsn     string // what the driver receives
	path    string // SQLite file path, for creating its directory; "" for file: URIs
}

// parseDSN decides the backend from a DSN. Error messages never repeat the
// DSN: a PostgreSQL URL may hold a password.
func parseDSN(dsn string) (target, error) {
	scheme, rest, hasScheme := strings.Cut(dsn, ":")
	if !hasScheme || strings.ContainsAny(scheme, `/\.`) || len(scheme) < 2 {
		// No scheme (a one-letter "scheme" is a Windows drive): a plain path.
		scheme, rest = "", dsn
	}
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		if _, err := url.Parse(dsn); err != nil {
			return target{}, fmt.Errorf("%w: postgres URL does not parse (hint: postgres://user:password@host:5432/dbname?sslmode=verify-full)", ErrBadDSN)
		}
		return target{dialect: Postgres, driver: "pgx", dsn: dsn}, nil
	case "file":
		if rest == "" || strings.HasPrefix(rest, "?") {
			return target{}, fmt.Errorf("%w: file: URI without a path (hint: file:/var/lib/usapp/headend.db)", ErrBadDSN)
		}
		if isMemory(rest) {
			return target{}, errMemory
		}
		sep := "?"
		if strings.Contains(rest, "?") {
			sep = "&"
		}
		return target{dialect: SQLite, driver: "sqlite", dsn: dsn + sep + sqlitePragmas}, nil
	case "sqlite", "sqlite3":
		// sqlite:///abs/path and sqlite:rel/path are both accepted.
		if strings.HasPrefix(rest, "///") {
			rest = rest[2:]
		}
		return sqlitePath(rest)
	case "":
		return sqlitePath(rest)
	default:
		return target{}, fmt.Errorf("%w: unknown scheme %q (hint: use postgres://... for PostgreSQL, or sqlite:PATH, file:PATH or a plain file path for SQLite)", ErrBadDSN, scheme)
	}
}

var errMemory = fmt.Errorf("%w: in-memory SQLite is not supported, every pooled connection would see its own database (hint: use a file path, e.g. t.TempDir()+\"/usapp.db\")", ErrBadDSN)

func isMemory(path string) bool {
	return path == ":memory:" || strings.Contains(path, "mode=memory")
}

// sqlitePath turns a file path into a file: URI with sqlitePragmas.
// Building the URI with net/url escapes '?', '#' and '%' in the path, which
// SQLite decodes again.
func sqlitePath(path string) (target, error) {
	switch {
	case path == "":
		return target{}, fmt.Errorf("%w: empty path (hint: a file path such as /var/lib/usapp/headend.db, or postgres://... for PostgreSQL)", ErrBadDSN)
	case isMemory(path):
		return target{}, errMemory
	case strings.ContainsRune(path, 0):
		return target{}, fmt.Errorf("%w: path holds a NUL byte", ErrBadDSN)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return target{}, fmt.Errorf("%w: path: %v", ErrBadDSN, err)
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: sqlitePragmas}
	return target{dialect: SQLite, driver: "sqlite", dsn: u.String(), path: abs}, nil
}

package store

import (
	"context"
	"database/sql"
	"math/bits"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/usapp/usapp/platform/sqldb"
)

const (
	dialectSQLite   = sqldb.SQLite
	dialectPostgres = sqldb.Postgres
)

// dialect holds what differs between the backends: placeholders and the
// batched statements, which each backend does fastest its own way.
type dialect struct {
	name string
	q    queries
	// lookupChunk is the most keys one lookup query takes; Lookup opens a
	// snapshot transaction only for more.
	lookupChunk int
	// lookup queries keys in chunks, inside tx unless it is nil.
	lookup func(ctx context.Context, st *stmtCache, tx *sql.Tx, keys []Key, into map[Key]Reading) error
	// snapshot opens a read-only transaction in which several queries see
	// one state of the database.
	snapshot       sql.TxOptions
	insertReadings func(ctx context.Context, st *stmtCache, tx *sql.Tx, rs []Reading) (inserted int64, err error)
	insertHashes   func(ctx context.Context, st *stmtCache, tx *sql.Tx, start int64, hs []tlog.Hash) (inserted int64, err error)
}

// queries are the single-shot statements, written with "?" and rebound to
// "$n" for PostgreSQL.
type queries struct {
	nextHash         string
	upsertCheckpoint string
	reading          string
	allReadings      string
}

func newQueries(rebind func(string) string) queries {
	return queries{
		nextHash: "SELECT COALESCE(MAX(idx) + 1, 0) FROM ledger_hashes",
		upsertCheckpoint: rebind("INSERT INTO checkpoints (id, size, note) VALUES (1, ?, ?) " +
			"ON CONFLICT (id) DO UPDATE SET size = excluded.size, note = excluded.note"),
		reading:     rebind("SELECT " + readingColumns + " FROM readings WHERE meter = ? AND counter = ?"),
		allReadings: "SELECT " + readingColumns + " FROM readings ORDER BY meter, counter",
	}
}

var dialects = map[string]*dialect{
	dialectSQLite: {
		name:        dialectSQLite,
		q:           newQueries(func(s string) string { return s }),
		lookupChunk: sqliteLookupSQL.maxRows,
		lookup:      sqliteLookup,
		// A deferred BEGIN (the driver's read-only mode) takes no write lock;
		// in WAL mode its snapshot lasts until the transaction ends.
		snapshot:       sql.TxOptions{ReadOnly: true},
		insertReadings: sqliteInsertReadings,
		insertHashes:   sqliteInsertHashes,
	},
	dialectPostgres: {
		name:           dialectPostgres,
		q:              newQueries(sqldb.RebindDollar),
		lookupChunk:    pgLookupChunk,
		lookup:         pgLookup,
		snapshot:       sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead},
		insertReadings: pgInsertReadings,
		insertHashes:   pgInsertHashes,
	},
}

// querier is *sql.DB or *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// SQLite: multi-row VALUES statements. Parsing a statement of a thousand
// parameters costs about as much as executing it, so each statement size is
// prepared once per Store, and batches are cut into sizes from a small set.

// multiRow is a family of SQLite statements that differ only in how many
// "(?,?,...)" groups of width parameters they hold.
type multiRow struct {
	name, prefix, suffix string
	width, maxRows       int
}

var (
	sqliteInsertReadingsSQL = multiRow{"readings", "INSERT INTO readings (" + readingColumns + ") VALUES ",
		" ON CONFLICT DO NOTHING", 10, 128}
	sqliteInsertHashesSQL = multiRow{"hashes", "INSERT INTO ledger_hashes (idx, hash) VALUES ",
		" ON CONFLICT DO NOTHING", 2, 512}
	// The lookup walks the keys and probes the primary key for each.
	sqliteLookupSQL = multiRow{"lookup", "WITH k(m, c) AS (VALUES ",
		") SELECT " + prefixed("r.", readingColumns) + " FROM k JOIN readings r ON r.meter = k.m AND r.counter = k.c", 2, 256}
)

// chunk returns how many of n pending rows the next statement takes:
// maxRows, else the largest power of two not above n. So a family never has
// more than log2(maxRows)+1 prepared sizes.
func (m multiRow) chunk(n int) int {
	if n >= m.maxRows {
		return m.maxRows
	}
	return 1 << (bits.Len(uint(n)) - 1)
}

func (m multiRow) sql(n int) string {
	group := "(" + strings.TrimSuffix(strings.Repeat("?,", m.width), ",") + ")"
	var b strings.Builder
	b.WriteString(m.prefix)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(group)
	}
	b.WriteString(m.suffix)
	return b.String()
}

// stmtCache holds a Store's prepared statements.
type stmtCache struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

// get returns the statement of family m with n rows, bound to tx when tx
// is not nil.
func (c *stmtCache) get(ctx context.Context, tx *sql.Tx, m multiRow, n int) (*sql.Stmt, error) {
	key := m.name + "/" + strconv.Itoa(n)
	c.mu.Lock()
	st, ok := c.m[key]
	if !ok {
		var err error
		if st, err = c.db.PrepareContext(ctx, m.sql(n)); err != nil {
			c.mu.Unlock()
			return nil, err
		}
		if c.m == nil {
			c.m = make(map[string]*sql.Stmt)
		}
		c.m[key] = st
	}
	c.mu.Unlock()
	if tx != nil {
		return tx.StmtContext(ctx, st), nil
	}
	return st, nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
}

// execRows runs family m over rows items, args(i) giving item i's
// parameters, and returns the number of rows inserted.
func execRows(ctx context.Context, st *stmtCache, tx *sql.Tx, m multiRow, rows int, args func(i int, into []any) []any) (int64, error) {
	var inserted int64
	buf := make([]any, 0, m.width*min(rows, m.maxRows))
	for done := 0; done < rows; {
		n := m.chunk(rows - done)
		buf = buf[:0]
		for i := done; i < done+n; i++ {
			buf = args(i, buf)
		}
		stmt, err := st.get(ctx, tx, m, n)
		if err != nil {
			return inserted, err
		}
		res, err := stmt.ExecContext(ctx, buf...)
		if err != nil {
			return inserted, err
		}
		k, err := res.RowsAffected()
		if err != nil {
			return inserted, err
		}
		inserted += k
		done += n
	}
	return inserted, nil
}

func sqliteInsertReadings(ctx context.Context, st *stmtCache, tx *sql.Tx, rs []Reading) (int64, error) {
	return execRows(ctx, st, tx, sqliteInsertReadingsSQL, len(rs), func(i int, into []any) []any {
		a := readingArgs(&rs[i])
		return append(into, a[:]...)
	})
}

func sqliteInsertHashes(ctx context.Context, st *stmtCache, tx *sql.Tx, start int64, hs []tlog.Hash) (int64, error) {
	return execRows(ctx, st, tx, sqliteInsertHashesSQL, len(hs), func(i int, into []any) []any {
		return append(into, start+int64(i), hs[i][:])
	})
}

func sqliteLookup(ctx context.Context, st *stmtCache, tx *sql.Tx, keys []Key, into map[Key]Reading) error {
	m := sqliteLookupSQL
	args := make([]any, 0, m.width*min(len(keys), m.maxRows))
	for len(keys) > 0 {
		n := m.chunk(len(keys))
		args = args[:0]
		for _, k := range keys[:n] {
			args = append(args, k.Meter, int64(k.Counter))
		}
		stmt, err := st.get(ctx, tx, m, n)
		if err != nil {
			return err
		}
		rows, err := stmt.QueryContext(ctx, args...)
		if err != nil {
			return err
		}
		if err := drain(rows, into); err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}

// PostgreSQL: one statement per batch, its columns sent as arrays and
// unnested by the server, so the statement text is constant (and prepared
// once per connection by pgx) whatever the batch size.
const (
	pgInsertReadingsSQL = "INSERT INTO readings (" + readingColumns + ") " +
		"SELECT * FROM unnest($1::text[], $2::int8[], $3::text[], $4::int8[], $5::int8[], $6::int8[], $7::bytea[], $8::bytea[], $9::int8[], $10::int8[]) " +
		"ON CONFLICT DO NOTHING"
	pgInsertHashesSQL = "INSERT INTO ledger_hashes (idx, hash) " +
		"SELECT $1::int8 + t.ord - 1, t.h FROM unnest($2::bytea[]) WITH ORDINALITY AS t(h, ord) " +
		"ON CONFLICT DO NOTHING"
)

// pgLookupChunk bounds the keys sent in one PostgreSQL lookup.
const pgLookupChunk = 1024

var pgLookupSQL = "SELECT " + prefixed("r.", readingColumns) + " FROM unnest($1::text[], $2::int8[]) AS k(m, c) " +
	"JOIN readings r ON r.meter = k.m AND r.counter = k.c"

func pgInsertReadings(ctx context.Context, _ *stmtCache, tx *sql.Tx, rs []Reading) (int64, error) {
	if len(rs) == 0 {
		return 0, nil
	}
	var (
		meters, gateways                = make([]string, len(rs)), make([]string, len(rs))
		counters, starts, intervals     = make([]int64, len(rs)), make([]int64, len(rs)), make([]int64, len(rs))
		energies, logIndexes, receiveds = make([]int64, len(rs)), make([]int64, len(rs)), make([]int64, len(rs))
		digests, records                = make([][]byte, len(rs)), make([][]byte, len(rs))
	)
	for i := range rs {
		a := readingArgs(&rs[i])
		meters[i], counters[i], gateways[i] = a[0].(string), a[1].(int64), a[2].(string)
		starts[i], intervals[i], energies[i] = a[3].(int64), a[4].(int64), a[5].(int64)
		digests[i], records[i] = a[6].([]byte), a[7].([]byte)
		logIndexes[i], receiveds[i] = a[8].(int64), a[9].(int64)
	}
	res, err := tx.ExecContext(ctx, pgInsertReadingsSQL, meters, counters, gateways, starts, intervals,
		energies, digests, records, logIndexes, receiveds)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func pgInsertHashes(ctx context.Context, _ *stmtCache, tx *sql.Tx, start int64, hs []tlog.Hash) (int64, error) {
	if len(hs) == 0 {
		return 0, nil
	}
	raw := make([][]byte, len(hs))
	for i := range hs {
		raw[i] = hs[i][:]
	}
	res, err := tx.ExecContext(ctx, pgInsertHashesSQL, start, raw)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func pgLookup(ctx context.Context, st *stmtCache, tx *sql.Tx, keys []Key, into map[Key]Reading) error {
	const chunk = pgLookupChunk
	var q querier = st.db
	if tx != nil {
		q = tx
	}
	for len(keys) > 0 {
		n := min(len(keys), chunk)
		meters, counters := make([]string, n), make([]int64, n)
		for i, k := range keys[:n] {
			meters[i], counters[i] = k.Meter, int64(k.Counter)
		}
		rows, err := q.QueryContext(ctx, pgLookupSQL, meters, counters)
		if err != nil {
			return err
		}
		if err := drain(rows, into); err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}

// drain reads rows of readings into a map and closes them.
func drain(rows *sql.Rows, into map[Key]Reading) error {
	defer rows.Close()
	for rows.Next() {
		r, err := scanReading(rows)
		if err != nil {
			return err
		}
		into[r.Key()] = r
	}
	return rows.Err()
}

// prefixed qualifies each column of a comma-separated list.
func prefixed(p, cols string) string {
	parts := strings.Split(cols, ", ")
	for i := range parts {
		parts[i] = p + parts[i]
	}
	return strings.Join(parts, ", ")
}

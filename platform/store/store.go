// Package store implements the storage behind A1.replay-protection and
// B3.integrity-feedback at the head-end: accepted billing readings,
// deduplicated on (meter, counter), the tree hashes of the transparency log
// (golang.org/x/mod/sumdb/tlog) and its latest signed checkpoint.
//
// # Backends
//
// SQLite is the default; PostgreSQL is used when the DSN is a postgres:// or
// postgresql:// URL (platform/sqldb lists the forms and their durability
// settings). Both sit behind the same API and the same tests. Open migrates
// the schema: embedded SQL files per dialect (migrations/<dialect>/NNNN_name.sql),
// recorded in schema_migrations.
//
// # Invariants
//
//   - A Commit is all or nothing. If any reading of a batch is already stored
//     (or appears twice in it) Commit returns ErrDuplicate; if the hashes do
//     not continue the ledger exactly, ErrLedgerGap; in both cases nothing of
//     the batch is applied.
//   - Ledger hashes are contiguous from index 0, so their count is the next
//     index.
//   - Times are stored as unix seconds and come back in UTC without their
//     sub-second part; Interval is stored exactly, in nanoseconds. Counter
//     is stored as the bit pattern of a signed 64-bit integer, so every
//     uint64 round-trips.
//   - Readings come back ordered by meter (byte order on both backends) and
//     counter (as a signed 64-bit value).
//   - Meter and gateway are UTF-8 without NUL and the meter is non-empty
//     (ErrInvalid otherwise), because PostgreSQL text cannot hold the rest
//     and both backends must accept the same batches.
//
// # Concurrency
//
// A Store is safe for concurrent use. It is designed for a single writer,
// the head-end, which looks readings up, decides, and commits; Commits of one
// Store are serialised, and a concurrent writer elsewhere would be caught by
// the database's keys (ErrDuplicate, ErrLedgerGap) rather than corrupt it.
// Readers never block on a Commit and see either all of a batch or none of it.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/usapp/usapp/platform/sqldb"
)

// Errors returned by the store; match them with errors.Is.
var (
	ErrDuplicate     = errors.New("store: reading already stored")
	ErrLedgerGap     = errors.New("store: ledger hashes do not continue the stored ones")
	ErrNotFound      = errors.New("store: not found")
	ErrBadDSN        = sqldb.ErrBadDSN
	ErrInvalid       = errors.New("store: invalid reading")
	ErrSchemaVersion = sqldb.ErrSchemaVersion
	ErrCorrupt       = errors.New("store: stored data is inconsistent")
)

// Reading is one accepted billing reading.
type Reading struct {
	Meter         string // meter identity; non-empty UTF-8 without NUL
	Counter       uint64 // the meter's monotonic counter: (Meter, Counter) is unique
	Gateway       string // gateway that delivered it; UTF-8 without NUL
	IntervalStart time.Time
	Interval      time.Duration
	EnergyWh      int64
	Digest        [32]byte // digest of Record as logged
	Record        []byte   // the logged record bytes
	LogIndex      int64    // record index in the transparency log
	ReceivedAt    time.Time
}

// Key identifies a reading.
type Key struct {
	Meter   string
	Counter uint64
}

// Key returns the reading's dedup key.
func (r Reading) Key() Key { return Key{Meter: r.Meter, Counter: r.Counter} }

// Batch is what the head-end commits at once.
type Batch struct {
	Readings []Reading
	// HashStart is the stored-hash index of Hashes[0]; it must equal the
	// number of hashes already stored. Ignored when Hashes is empty.
	HashStart int64
	Hashes    []tlog.Hash
	// Checkpoint, when not nil, replaces the stored checkpoint: a signed
	// note for a tree of CheckpointSize records.
	Checkpoint     []byte
	CheckpointSize int64
}

// Store is the head-end's database.
type Store struct {
	db      *sql.DB
	d       *dialect
	log     *slog.Logger
	stmts   stmtCache
	writeMu sync.Mutex // one Commit at a time
}

// Open connects to the database named by dsn and migrates its schema. A dsn
// starting with postgres:// or postgresql:// selects PostgreSQL; sqlite:PATH,
// file:PATH (an SQLite URI) or a plain path selects SQLite, creating the file
// and its directory when missing. A nil log discards log output.
func Open(ctx context.Context, dsn string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	db, err := sqldb.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	log = log.With("component", "store", "dialect", db.Dialect())
	if err := db.Migrate(ctx, schema, log); err != nil {
		db.Close()
		return nil, err
	}
	s := &Store{db: db.DB, d: dialects[db.Dialect()], log: log}
	s.stmts.db = db.DB
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.stmts.close()
	return s.db.Close()
}

// Dialect reports the backend: "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.d.name }

// validate checks what one backend would accept and the other reject, so
// that both behave alike: PostgreSQL text holds neither NUL nor invalid UTF-8.
func validate(b *Batch) error {
	for i := range b.Readings {
		r := &b.Readings[i]
		if r.Meter == "" || !cleanText(r.Meter) || !cleanText(r.Gateway) {
			return fmt.Errorf("%w: reading %d: meter must be non-empty, meter and gateway UTF-8 without NUL", ErrInvalid, i)
		}
	}
	if b.Checkpoint != nil && b.CheckpointSize < 0 {
		return fmt.Errorf("%w: negative checkpoint size", ErrInvalid)
	}
	return nil
}

func cleanText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return false
		}
	}
	return true
}

// Commit applies a batch in one transaction: readings, ledger hashes and
// the checkpoint. It returns ErrDuplicate if any reading's key is already
// stored or repeats within the batch, ErrLedgerGap if HashStart is not the
// number of stored hashes, ErrInvalid for a malformed reading; after any
// error nothing of the batch is applied.
func (s *Store) Commit(ctx context.Context, b Batch) error {
	if err := validate(&b); err != nil {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback() // no-op after Commit
	if err := s.apply(ctx, tx, &b); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// apply writes a batch inside tx. Conflicts are detected by counting the
// rows an INSERT ... ON CONFLICT DO NOTHING really inserted, which works the
// same on both backends and leaves a PostgreSQL transaction usable.
func (s *Store) apply(ctx context.Context, tx *sql.Tx, b *Batch) error {
	if len(b.Hashes) > 0 {
		var next int64
		if err := tx.QueryRowContext(ctx, s.d.q.nextHash).Scan(&next); err != nil {
			return fmt.Errorf("store: ledger size: %w", err)
		}
		if b.HashStart != next {
			return fmt.Errorf("%w: batch starts at hash %d, ledger holds %d", ErrLedgerGap, b.HashStart, next)
		}
	}
	n, err := s.d.insertReadings(ctx, &s.stmts, tx, b.Readings)
	if err != nil {
		return fmt.Errorf("store: insert readings: %w", err)
	}
	if n != int64(len(b.Readings)) {
		return fmt.Errorf("%w: %d of %d readings in the batch", ErrDuplicate, int64(len(b.Readings))-n, len(b.Readings))
	}
	n, err = s.d.insertHashes(ctx, &s.stmts, tx, b.HashStart, b.Hashes)
	if err != nil {
		return fmt.Errorf("store: insert ledger hashes: %w", err)
	}
	if n != int64(len(b.Hashes)) {
		// Only a concurrent writer, despite the check above.
		return fmt.Errorf("%w: hash indexes taken concurrently", ErrLedgerGap)
	}
	if b.Checkpoint != nil {
		if _, err := tx.ExecContext(ctx, s.d.q.upsertCheckpoint, b.CheckpointSize, b.Checkpoint); err != nil {
			return fmt.Errorf("store: checkpoint: %w", err)
		}
	}
	return nil
}

// Lookup returns the stored readings among keys; absent keys are simply
// missing from the map. Keys are queried in chunks, all in one snapshot, so
// the result never holds part of a batch.
func (s *Store) Lookup(ctx context.Context, keys []Key) (map[Key]Reading, error) {
	found := make(map[Key]Reading, len(keys))
	keys = storable(keys)
	if len(keys) == 0 {
		return found, nil
	}
	var tx *sql.Tx // one query needs no snapshot of its own
	if len(keys) > s.d.lookupChunk {
		var err error
		if tx, err = s.db.BeginTx(ctx, &s.d.snapshot); err != nil {
			return nil, fmt.Errorf("store: lookup: %w", err)
		}
		defer tx.Rollback()
	}
	if err := s.d.lookup(ctx, &s.stmts, tx, keys, found); err != nil {
		return nil, fmt.Errorf("store: lookup: %w", err)
	}
	return found, nil
}

// storable reports whether a reading with this key could have been
// committed; PostgreSQL would reject the others as query parameters.
func (k Key) storable() bool { return k.Meter != "" && cleanText(k.Meter) }

// storable drops keys no reading can have, copying only when needed.
func storable(keys []Key) []Key {
	for i, k := range keys {
		if !k.storable() {
			out := append([]Key(nil), keys[:i]...)
			for _, k := range keys[i+1:] {
				if k.storable() {
					out = append(out, k)
				}
			}
			return out
		}
	}
	return keys
}

// Reading returns one stored reading, or ErrNotFound.
func (s *Store) Reading(ctx context.Context, k Key) (Reading, error) {
	if !k.storable() {
		return Reading{}, ErrNotFound
	}
	r, err := scanReading(s.db.QueryRowContext(ctx, s.d.q.reading, k.Meter, int64(k.Counter)))
	if errors.Is(err, sql.ErrNoRows) {
		return Reading{}, ErrNotFound
	}
	if err != nil {
		return Reading{}, fmt.Errorf("store: reading: %w", err)
	}
	return r, nil
}

// Readings calls fn for every stored reading, ordered by meter and counter
// (a meter's counter rises with its interval start), streaming rows from the
// database. It stops at and
// returns the first error fn returns. fn may call other methods of the Store.
func (s *Store) Readings(ctx context.Context, fn func(Reading) error) error {
	rows, err := s.db.QueryContext(ctx, s.d.q.allReadings)
	if err != nil {
		return fmt.Errorf("store: readings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanReading(rows)
		if err != nil {
			return fmt.Errorf("store: readings: %w", err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: readings: %w", err)
	}
	return nil
}

// CountReadings returns the number of stored readings.
func (s *Store) CountReadings(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM readings").Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count readings: %w", err)
	}
	return n, nil
}

// LedgerHashes returns all stored tree hashes in index order.
func (s *Store) LedgerHashes(ctx context.Context) ([]tlog.Hash, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT idx, hash FROM ledger_hashes ORDER BY idx")
	if err != nil {
		return nil, fmt.Errorf("store: ledger hashes: %w", err)
	}
	defer rows.Close()
	var hashes []tlog.Hash
	var raw []byte
	for rows.Next() {
		var idx int64
		if err := rows.Scan(&idx, &raw); err != nil {
			return nil, fmt.Errorf("store: ledger hashes: %w", err)
		}
		if idx != int64(len(hashes)) || len(raw) != len(tlog.Hash{}) {
			return nil, fmt.Errorf("%w: ledger hash at index %d", ErrCorrupt, idx)
		}
		hashes = append(hashes, tlog.Hash(raw))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: ledger hashes: %w", err)
	}
	return hashes, nil
}

// LatestCheckpoint returns the stored checkpoint, or ErrNotFound.
func (s *Store) LatestCheckpoint(ctx context.Context) (size int64, note []byte, err error) {
	err = s.db.QueryRowContext(ctx, "SELECT size, note FROM checkpoints WHERE id = 1").Scan(&size, &note)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, ErrNotFound
	}
	if err != nil {
		return 0, nil, fmt.Errorf("store: checkpoint: %w", err)
	}
	return size, note, nil
}

// readingColumns is the column order of every reading query.
const readingColumns = "meter, counter, gateway, interval_start, interval_ns, energy_wh, digest, record, log_index, received_at"

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanReading(sc scanner) (Reading, error) {
	var (
		r                 Reading
		counter           int64
		start, received   int64
		interval          int64
		digest, recordRaw []byte
	)
	err := sc.Scan(&r.Meter, &counter, &r.Gateway, &start, &interval, &r.EnergyWh, &digest, &recordRaw, &r.LogIndex, &received)
	if err != nil {
		return Reading{}, err
	}
	if len(digest) != len(r.Digest) {
		return Reading{}, fmt.Errorf("%w: digest of %d bytes", ErrCorrupt, len(digest))
	}
	r.Counter = uint64(counter)
	r.IntervalStart = time.Unix(start, 0).UTC()
	r.Interval = time.Duration(interval)
	copy(r.Digest[:], digest)
	r.Record = recordRaw
	r.ReceivedAt = time.Unix(received, 0).UTC()
	return r, nil
}

// readingArgs flattens a reading into query arguments in readingColumns order.
func readingArgs(r *Reading) [10]any {
	record := r.Record
	if record == nil {
		record = []byte{} // NOT NULL: an absent record is an empty one
	}
	return [10]any{r.Meter, int64(r.Counter), r.Gateway, r.IntervalStart.Unix(), int64(r.Interval),
		r.EnergyWh, r.Digest[:], record, r.LogIndex, r.ReceivedAt.Unix()}
}

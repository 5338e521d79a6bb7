// Package spool implements B3.store-and-forward: the gateway keeps every
// sealed reading durably until the head-end's receipt arrives, and sends it
// again otherwise, so a lost message, a head-end outage or a gateway restart
// never loses billing data.
//
// # Model
//
// An [Entry] is one sealed reading, keyed by (gateway, meter, counter). It is
// written once ([Spool.Put], idempotent: the first write of a key wins), sent
// and re-sent ([Spool.Due], [Spool.MarkSent]), and finally acknowledged with
// the head-end's receipt ([Spool.Ack]). Acknowledged entries are kept, with
// their receipt and the record the head-end logged, so the integrity feedback
// (computing/ledger) can be checked again later. One spool file may serve many
// gateways: every row carries the gateway ID and every query is scoped by it.
//
// # Durability
//
// The store is one SQLite file (modernc.org/sqlite) in WAL mode with
// synchronous=FULL: a call that returned nil has its rows fsynced and they
// survive a process crash or power loss. Puts are group-committed: a single
// writer goroutine takes every write request waiting at that moment and
// applies them in one transaction, so one fsync (0.2 to 2 ms on the disks we
// measured) is shared by all of them, and each caller returns only once its
// own rows are durable. Throughput is therefore about (concurrent callers ×
// rows per call) / commit latency; a group holds at most 4096 rows.
// If a group fails, its requests are retried one transaction each, so one bad
// request cannot fail its neighbours. Another process (or another *Spool)
// may open the same file; busy_timeout makes writers wait for each other.
//
// # Concurrency
//
// A Spool is safe for concurrent use. Writes (Put, PutBatch, MarkSent, Ack)
// are serialised through the writer goroutine; reads use a separate pool of
// read-only connections and see the last committed state.
//
// Counters are uint64 on the API and stored as the int64 with the same bits.
package spool

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

// Errors returned by the spool.
var (
	ErrNotFound = errors.New("spool: entry not found")
	ErrClosed   = errors.New("spool: closed")
	ErrInvalid  = errors.New("spool: invalid entry")
)

// Key names an entry within one gateway.
type Key struct {
	Meter   string
	Counter uint64
}

// Entry is one sealed reading kept until the head-end acknowledges it.
type Entry struct {
	Gateway  string
	Meter    string
	Counter  uint64
	Sealed   []byte    // the envelope as sent
	Record   []byte    // the bytes the head-end will log: kept to verify the receipt
	Attempts int       // times sent
	LastSent time.Time // zero if never sent
	Acked    bool      // settled: the head-end answered (receipt, or rejection)
	Receipt  []byte    // the head-end's receipt, nil until acknowledged
	Rejected string    // the head-end's rejection reason; "" unless rejected
}

// Key returns the entry's key.
func (e Entry) Key() Key { return Key{Meter: e.Meter, Counter: e.Counter} }

// Stats are totals over every gateway in the file.
type Stats struct {
	Entries int64
	Acked   int64
	Pending int64
}

const (
	maxGroupRows = 4096 // rows per group commit, to bound transaction size and latency
	maxField     = 1 << 20
	maxReaders   = 8 // read connections; bounds open files when many gateways poll
	gatherWait   = 200 * time.Microsecond
)

const schema = `
CREATE TABLE IF NOT EXISTS spool (
	seq       INTEGER PRIMARY KEY,
	gateway   TEXT    NOT NULL,
	meter     TEXT    NOT NULL,
	counter   INTEGER NOT NULL,
	sealed    BLOB    NOT NULL,
	record    BLOB    NOT NULL,
	attempts  INTEGER NOT NULL DEFAULT 0,
	last_sent INTEGER,
	acked     INTEGER NOT NULL DEFAULT 0,
	receipt   BLOB,
	reason    TEXT,
	UNIQUE (gateway, meter, counter)
);
CREATE INDEX IF NOT EXISTS spool_unacked ON spool (gateway, seq) WHERE acked = 0;
`

// Spool is a durable store-and-forward queue in one SQLite file.
type Spool struct {
	w   *sql.DB // exactly one connection, owned by the writer goroutine
	r   *sql.DB // read-only connections
	log *slog.Logger

	insert, markSent, ack, exists *sql.Stmt // prepared on w

	maxRows int // rows per group; 1 disables group commit (benchmarks)
	reqs    chan *request
	quit    chan struct{}
	stopped chan struct{}
	once    sync.Once

	groups, grouped atomic.Int64 // group commits and rows in them, for benchmarks
}

// request is one caller's write, applied inside a group transaction.
type request struct {
	rows  int
	apply func(tx *sql.Tx) error // ErrNotFound is a result, any other error fails the group
	done  chan error
}

// Open opens or creates the spool file at path. A nil log discards.
func Open(path string, log *slog.Logger) (*Spool, error) {
	return open(path, log, maxGroupRows)
}

func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Set("_txlock", "immediate")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	}
	u := url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}
	return "file:" + u.EscapedPath() + "?" + u.RawQuery
}

func open(path string, log *slog.Logger, maxRows int) (*Spool, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("spool: open: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	s := &Spool{w: w, log: log, maxRows: maxRows,
		reqs: make(chan *request), quit: make(chan struct{}), stopped: make(chan struct{})}
	if err := s.init(); err != nil {
		w.Close()
		return nil, err
	}
	s.r, err = sql.Open("sqlite", dsn(path, true))
	if err != nil {
		s.closeStmts()
		w.Close()
		return nil, fmt.Errorf("spool: open: %w", err)
	}
	s.r.SetMaxOpenConns(maxReaders)
	go s.writer()
	return s, nil
}

func (s *Spool) init() error {
	if _, err := s.w.Exec(schema); err != nil {
		return fmt.Errorf("spool: schema: %w", err)
	}
	var err error
	prep := func(q string) *sql.Stmt {
		st, e := s.w.Prepare(q)
		err = errors.Join(err, e)
		return st
	}
	s.insert = prep(`INSERT INTO spool (gateway, meter, counter, sealed, record, attempts, last_sent)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (gateway, meter, counter) DO NOTHING`)
	s.markSent = prep(`UPDATE spool SET attempts = attempts + 1, last_sent = ?
		WHERE gateway = ? AND meter = ? AND counter = ?`)
	s.ack = prep(`UPDATE spool SET acked = 1, receipt = ?, reason = ? WHERE gateway = ? AND meter = ? AND counter = ? AND acked = 0`)
	s.exists = prep(`SELECT 1 FROM spool WHERE gateway = ? AND meter = ? AND counter = ?`)
	if err != nil {
		s.closeStmts()
		return fmt.Errorf("spool: prepare: %w", err)
	}
	return nil
}

func (s *Spool) closeStmts() error {
	var err error
	for _, st := range []*sql.Stmt{s.insert, s.markSent, s.ack, s.exists} {
		if st != nil {
			err = errors.Join(err, st.Close())
		}
	}
	return err
}

// Close stops the writer after the writes it accepted, and closes the file.
// Writes after Close fail with ErrClosed.
func (s *Spool) Close() error {
	var err error
	s.once.Do(func() {
		close(s.quit)
		<-s.stopped
		err = errors.Join(s.closeStmts(), s.r.Close(), s.w.Close())
	})
	return err
}

// submit hands a write to the writer and waits until it is durable. The
// context bounds the wait for the writer; once accepted, the write is
// awaited to the end (one group transaction), so the caller's buffers are
// never read after it returns and a nil error always means durable.
func (s *Spool) submit(ctx context.Context, r *request) error {
	r.done = make(chan error, 1)
	select {
	case s.reqs <- r:
	case <-s.quit:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-r.done
}

// writer is the single goroutine that writes: it gathers the requests
// waiting at the moment and commits them together.
//
// Right after a commit the callers it answered are still waking up, so a
// writer that took only what is already queued would alternate between a
// tiny group and a big one. It therefore waits, at most gatherWait (a
// fraction of one fsync), for as many requests as the previous group had.
func (s *Spool) writer() {
	defer close(s.stopped)
	var group []*request
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	target := 1
	for {
		select {
		case <-s.quit:
			return
		case r := <-s.reqs:
			group = append(group[:0], r)
			rows := r.rows
			timer.Reset(gatherWait)
		wait:
			for rows < s.maxRows && len(group) < target {
				select {
				case r := <-s.reqs:
					group = append(group, r)
					rows += r.rows
				case <-timer.C:
					break wait
				}
			}
			timer.Stop()
		drain:
			for rows < s.maxRows {
				select {
				case r := <-s.reqs:
					group = append(group, r)
					rows += r.rows
				default:
					break drain
				}
			}
			target = len(group)
			s.commit(group)
			s.groups.Add(1)
			s.grouped.Add(int64(rows))
		}
	}
}

// commit applies a group in one transaction and answers every request. When
// the group fails, each request is retried alone so only the faulty one fails.
func (s *Spool) commit(group []*request) {
	results, err := s.apply(group)
	if err == nil {
		for i, r := range group {
			r.done <- results[i]
		}
		return
	}
	if len(group) == 1 {
		group[0].done <- err
		return
	}
	s.log.Warn("spool: group commit failed, retrying one by one", "requests", len(group), "err", err)
	for _, r := range group {
		s.commit([]*request{r})
	}
}

func (s *Spool) apply(group []*request) ([]error, error) {
	tx, err := s.w.Begin()
	if err != nil {
		return nil, fmt.Errorf("spool: begin: %w", err)
	}
	results := make([]error, len(group))
	for i, r := range group {
		err := r.apply(tx)
		if err != nil && !errors.Is(err, ErrNotFound) {
			tx.Rollback()
			return nil, err
		}
		results[i] = err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("spool: commit: %w", err)
	}
	return results, nil
}

func validate(e *Entry) error {
	switch {
	case e.Gateway == "" || e.Meter == "":
		return fmt.Errorf("%w: empty gateway or meter", ErrInvalid)
	case len(e.Sealed) == 0 || len(e.Record) == 0:
		return fmt.Errorf("%w: empty sealed or record", ErrInvalid)
	case len(e.Sealed) > maxField || len(e.Record) > maxField || len(e.Gateway) > 256 || len(e.Meter) > 256:
		return fmt.Errorf("%w: too large", ErrInvalid)
	case e.Attempts < 0:
		return fmt.Errorf("%w: negative attempts", ErrInvalid)
	}
	return nil
}

// Put stores e durably; it returns once e is on disk. Putting an existing
// key again is a no-op (the first write wins). Attempts and LastSent are
// stored as given; Acked and Receipt are ignored (see Ack).
func (s *Spool) Put(ctx context.Context, e Entry) error {
	return s.PutBatch(ctx, []Entry{e})
}

// PutBatch stores es durably and atomically; see Put.
func (s *Spool) PutBatch(ctx context.Context, es []Entry) error {
	for i := range es {
		if err := validate(&es[i]); err != nil {
			return err
		}
	}
	if len(es) == 0 {
		return nil
	}
	return s.submit(ctx, &request{rows: len(es), apply: func(tx *sql.Tx) error {
		st := tx.Stmt(s.insert)
		for i := range es {
			e := &es[i]
			if _, err := st.Exec(e.Gateway, e.Meter, int64(e.Counter), e.Sealed, e.Record, e.Attempts, nanos(e.LastSent)); err != nil {
				return fmt.Errorf("spool: insert: %w", err)
			}
		}
		return nil
	}})
}

// MarkSent records that the entries were sent at at, bumping Attempts.
// Keys that are not in the spool are ignored.
func (s *Spool) MarkSent(ctx context.Context, gateway string, keys []Key, at time.Time) error {
	if len(keys) == 0 {
		return nil
	}
	return s.submit(ctx, &request{rows: len(keys), apply: func(tx *sql.Tx) error {
		st := tx.Stmt(s.markSent)
		for _, k := range keys {
			if _, err := st.Exec(nanos(at), gateway, k.Meter, int64(k.Counter)); err != nil {
				return fmt.Errorf("spool: mark sent: %w", err)
			}
		}
		return nil
	}})
}

// Ack stores the head-end's receipt and settles the entry; it is kept for
// audit. It reports whether this call settled it: a second answer for the
// same reading (a duplicate receipt) changes nothing and reports false.
// ErrNotFound if the entry does not exist.
func (s *Spool) Ack(ctx context.Context, gateway string, k Key, receipt []byte) (bool, error) {
	if receipt == nil {
		receipt = []byte{}
	}
	return s.settle(ctx, gateway, k, receipt, nil)
}

// Reject settles the entry as refused by the head-end, for reason; it is
// not sent again. It reports whether this call settled it, as Ack does.
func (s *Spool) Reject(ctx context.Context, gateway string, k Key, reason string) (bool, error) {
	if reason == "" {
		reason = "unspecified"
	}
	return s.settle(ctx, gateway, k, nil, reason)
}

func (s *Spool) settle(ctx context.Context, gateway string, k Key, receipt []byte, reason any) (bool, error) {
	var first bool
	err := s.submit(ctx, &request{rows: 1, apply: func(tx *sql.Tx) error {
		res, err := tx.Stmt(s.ack).Exec(receipt, reason, gateway, k.Meter, int64(k.Counter))
		if err != nil {
			return fmt.Errorf("spool: settle: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("spool: settle: %w", err)
		}
		if first = n == 1; first {
			return nil
		}
		var one int
		if err := tx.Stmt(s.exists).QueryRow(gateway, k.Meter, int64(k.Counter)).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return fmt.Errorf("spool: settle: %w", err)
		}
		return nil
	}})
	return first, err
}

const columns = `gateway, meter, counter, sealed, record, attempts, last_sent, acked, receipt, COALESCE(reason, '')`

func scan(row interface{ Scan(...any) error }) (Entry, error) {
	var (
		e        Entry
		counter  int64
		lastSent sql.NullInt64
	)
	if err := row.Scan(&e.Gateway, &e.Meter, &counter, &e.Sealed, &e.Record, &e.Attempts, &lastSent, &e.Acked, &e.Receipt, &e.Rejected); err != nil {
		return Entry{}, err
	}
	e.Counter = uint64(counter)
	if lastSent.Valid {
		e.LastSent = time.Unix(0, lastSent.Int64)
	}
	return e, nil
}

// Due returns up to limit unacknowledged entries of gateway that were never
// sent or last sent before sentBefore, oldest first (in order of Put). A zero
// sentBefore selects only never-sent entries; limit <= 0 means no limit.
func (s *Spool) Due(ctx context.Context, gateway string, sentBefore time.Time, limit int) ([]Entry, error) {
	if limit <= 0 {
		limit = -1
	}
	before := nanos(sentBefore)
	rows, err := s.r.QueryContext(ctx, `SELECT `+columns+` FROM spool
		WHERE gateway = ? AND acked = 0 AND (last_sent IS NULL OR last_sent < ?)
		ORDER BY seq LIMIT ?`, gateway, before, limit)
	if err != nil {
		return nil, fmt.Errorf("spool: due: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("spool: due: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("spool: due: %w", err)
	}
	return out, nil
}

// Get returns one entry, or ErrNotFound.
func (s *Spool) Get(ctx context.Context, gateway string, k Key) (Entry, error) {
	row := s.r.QueryRowContext(ctx, `SELECT `+columns+` FROM spool
		WHERE gateway = ? AND meter = ? AND counter = ?`, gateway, k.Meter, int64(k.Counter))
	e, err := scan(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, ErrNotFound
	}
	if err != nil {
		return Entry{}, fmt.Errorf("spool: get: %w", err)
	}
	return e, nil
}

// Pending returns the number of unacknowledged entries of gateway.
func (s *Spool) Pending(ctx context.Context, gateway string) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM spool WHERE gateway = ? AND acked = 0`, gateway).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("spool: pending: %w", err)
	}
	return n, nil
}

// Stats returns totals over every gateway.
func (s *Spool) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(acked), 0) FROM spool`).Scan(&st.Entries, &st.Acked)
	if err != nil {
		return Stats{}, fmt.Errorf("spool: stats: %w", err)
	}
	st.Pending = st.Entries - st.Acked
	return st, nil
}

// nanos encodes a time for the last_sent column: NULL for the zero time.
func nanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

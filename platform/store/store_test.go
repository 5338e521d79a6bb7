package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/usapp/usapp/platform/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// backend opens stores of one dialect on one database.
type backend struct {
	name string
	dsn  string
}

// backends runs fn once per backend, each on a fresh database.
func backends(t *testing.T, fn func(t *testing.T, be backend)) {
	pgtest.Backends(t, "store.db", func(t *testing.T, dialect, dsn string) { fn(t, backend{dialect, dsn}) })
}

func (be backend) open(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), be.dsn, nil)
	if err != nil {
		t.Fatalf("Open(%s): %v", be.name, err)
	}
	t.Cleanup(func() { s.Close() })
	if s.Dialect() != be.name {
		t.Fatalf("Dialect() = %q, want %q", s.Dialect(), be.name)
	}
	return s
}

// reading builds a deterministic reading; its record and digest depend on
// every field so that a mixed-up column shows.
func reading(meter string, counter uint64) Reading {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(counter%100000) * 30 * time.Minute)
	r := Reading{
		Meter: meter, Counter: counter, Gateway: "gw-" + meter,
		IntervalStart: start, Interval: 30 * time.Minute,
		EnergyWh: int64(counter*7%5000) - 100, LogIndex: int64(counter) + 1000,
		ReceivedAt: start.Add(31 * time.Minute),
	}
	r.Record = []byte(fmt.Sprintf("record %s/%d/%d", meter, counter, r.EnergyWh))
	r.Digest = sha256.Sum256(r.Record)
	return r
}

func readings(meter string, from, n uint64) []Reading {
	rs := make([]Reading, n)
	for i := range rs {
		rs[i] = reading(meter, from+uint64(i))
	}
	return rs
}

func hashes(start, n int) []tlog.Hash {
	hs := make([]tlog.Hash, n)
	for i := range hs {
		hs[i] = tlog.Hash(sha256.Sum256([]byte(fmt.Sprint("hash", start+i))))
	}
	return hs
}

func mustCommit(t testing.TB, s *Store, b Batch) {
	t.Helper()
	if err := s.Commit(context.Background(), b); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

// snapshot is everything a store holds, for before/after comparisons.
type snapshot struct {
	Count      int64
	Readings   []Reading
	Hashes     []tlog.Hash
	CheckSize  int64
	Checkpoint []byte
	CheckErr   error
}

func snap(t *testing.T, s *Store) snapshot {
	t.Helper()
	ctx := context.Background()
	var sn snapshot
	var err error
	if sn.Count, err = s.CountReadings(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Readings(ctx, func(r Reading) error { sn.Readings = append(sn.Readings, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if sn.Hashes, err = s.LedgerHashes(ctx); err != nil {
		t.Fatal(err)
	}
	sn.CheckSize, sn.Checkpoint, sn.CheckErr = s.LatestCheckpoint(ctx)
	return sn
}

func equalReading(a, b Reading) bool {
	return a.Meter == b.Meter && a.Counter == b.Counter && a.Gateway == b.Gateway &&
		a.IntervalStart.Equal(b.IntervalStart) && a.Interval == b.Interval && a.EnergyWh == b.EnergyWh &&
		a.Digest == b.Digest && bytes.Equal(a.Record, b.Record) && a.LogIndex == b.LogIndex &&
		a.ReceivedAt.Equal(b.ReceivedAt)
}

func TestCommitAndReadBack(t *testing.T) {
	backends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		s := be.open(t)
		edge := reading("mètre-ü", math.MaxUint64) // counter above MaxInt64, non-ASCII meter
		edge.EnergyWh = math.MinInt64
		edge.Record = nil
		edge.IntervalStart = time.Unix(-86400, 0).In(time.FixedZone("X", 3600))
		edge.ReceivedAt = time.Time{}
		edge.Interval = 1500 * time.Millisecond
		rs := append(readings("m1", 1, 5), edge)
		mustCommit(t, s, Batch{Readings: rs, HashStart: 0, Hashes: hashes(0, 7), Checkpoint: []byte("note-1"), CheckpointSize: 6})

		for _, want := range rs {
			got, err := s.Reading(ctx, want.Key())
			if err != nil {
				t.Fatalf("Reading(%v): %v", want.Key(), err)
			}
			if !equalReading(got, want) {
				t.Fatalf("Reading(%v)\n got %+v\nwant %+v", want.Key(), got, want)
			}
			if got.IntervalStart.Location() != time.UTC {
				t.Fatalf("times come back in %v, want UTC", got.IntervalStart.Location())
			}
		}
		if n, err := s.CountReadings(ctx); err != nil || n != 6 {
			t.Fatalf("CountReadings = %d, %v; want 6", n, err)
		}
		if got, err := s.LedgerHashes(ctx); err != nil || !reflect.DeepEqual(got, hashes(0, 7)) {
			t.Fatalf("LedgerHashes = %v, %v", got, err)
		}
		size, note, err := s.LatestCheckpoint(ctx)
		if err != nil || size != 6 || string(note) != "note-1" {
			t.Fatalf("LatestCheckpoint = %d, %q, %v", size, note, err)
		}
		// Hashes continue where they stopped; the checkpoint is replaced.
		mustCommit(t, s, Batch{Readings: readings("m1", 6, 2), HashStart: 7, Hashes: hashes(7, 3), Checkpoint: []byte("note-2"), CheckpointSize: 8})
		// A batch without a checkpoint keeps the stored one.
		mustCommit(t, s, Batch{Readings: readings("m2", 1, 1)})
		if got, _ := s.LedgerHashes(ctx); !reflect.DeepEqual(got, hashes(0, 10)) {
			t.Fatalf("after second commit LedgerHashes has %d hashes, want the 10 committed", len(got))
		}
		if size, note, _ := s.LatestCheckpoint(ctx); size != 8 || string(note) != "note-2" {
			t.Fatalf("checkpoint = %d, %q; want 8, note-2", size, note)
		}
	})
}

// TestLargeBatch crosses every statement-size boundary of the SQLite path
// (and the PostgreSQL lookup chunk) in one batch.
func TestLargeBatch(t *testing.T) {
	backends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		s := be.open(t)
		rs := append(readings("x", 0, 600), readings("y", 0, 1401)...)
		mustCommit(t, s, Batch{Readings: rs, Hashes: hashes(0, 1300)})
		if n, _ := s.CountReadings(ctx); n != int64(len(rs)) {
			t.Fatalf("stored %d readings, want %d", n, len(rs))
		}
		if hs, _ := s.LedgerHashes(ctx); !reflect.DeepEqual(hs, hashes(0, 1300)) {
			t.Fatalf("ledger holds %d hashes, want the 1300 committed", len(hs))
		}
		keys := make([]Key, len(rs))
		for i := range rs {
			keys[i] = rs[i].Key()
		}
		got, err := s.Lookup(ctx, keys)
		if err != nil || len(got) != len(rs) {
			t.Fatalf("Lookup of %d keys found %d, %v", len(rs), len(got), err)
		}
		for _, r := range rs {
			if !equalReading(got[r.Key()], r) {
				t.Fatalf("Lookup[%v] differs from the committed reading", r.Key())
			}
		}
	})
}

func TestEmptyStore(t *testing.T) {
	backends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		s := be.open(t)
		if _, _, err := s.LatestCheckpoint(ctx); !errors.Is(err, ErrNotFound) {
			t.Fatalf("LatestCheckpoint on empty store: %v, want ErrNotFound", err)
		}
		if _, err := s.Reading(ctx, Key{"m", 1}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Reading on empty store: %v, want ErrNotFound", err)
		}
		if hs, err := s.LedgerHashes(ctx); err != nil || len(hs) != 0 {
			t.Fatalf("LedgerHashes = %d hashes, %v", len(hs), err)
		}
		if n, err := s.CountReadings(ctx); err != nil || n != 0 {
			t.Fatalf("CountReadings = %d, %v", n, err)
		}
		if m, err := s.Lookup(ctx, []Key{{"m", 1}}); err != nil || len(m) != 0 {
			t.Fatalf("Lookup = %v, %v", m, err)
		}
	})
}

func TestLookup(t *testing.T) {
	backends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		s := be.open(t)
		stored := readings("meter-a", 0, 700)
		mustCommit(t, s, Batch{Readings: stored})
		// 1400 keys: more than one chunk; every other one absent; one repeated.
		var keys []Key
		for i := range uint64(700) {
			keys = append(keys, Key{"meter-a", i}, Key{"meter-b", i})
		}
		keys = append(keys, Key{"meter-a", 3}, Key{"", 1}, Key{"bad\x00", 1}, Key{"\xff", 2})
		got, err := s.Lookup(ctx, keys)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 700 {
			t.Fatalf("Lookup found %d readings, want 700", len(got))
		}
		for _, want := range stored {
			if !equalReading(got[want.Key()], want) {
				t.Fatalf("Lookup[%v] = %+v, want %+v", want.Key(), got[want.Key()], want)
			}
		}
		if _, err := s.Reading(ctx, Key{"bad\x00", 1}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Reading with a NUL meter: %v, want ErrNotFound", err)
		}
	})
}

func TestReadingsOrder(t *testing.T) {
	backends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		s := be.open(t)
		var all []Reading
		// Byte order puts "Z" before "a" before "é"; a collation would not.
		for _, m := range []string{"é", "a", "Z", "b-10", "b-9"} {
			for _, c := range []uint64{5, 1, 3} {
				all = append(all, reading(m, c))
			}
		}
		same := reading("a", 100)
		same.IntervalStart = reading("a", 1).IntervalStart // tie on start: counter decides
		all = append(all, same)
		mustCommit(t, s, Batch{Readings: all[:7]})
		mustCommit(t, s, Batch{Readings: all[7:]})

		var got []Reading
		if err := s.Readings(ctx, func(r Reading) error { got = append(got, r); return nil }); err != nil {
			t.Fatal(err)
		}
		want := append([]Reading(nil), all...)
		sort.Slice(want, func(i, j int) bool {
			a, b := want[i], want[j]
			if a.Meter != b.Meter {
				return a.Meter < b.Meter
			}
			return int64(a.Counter) < int64(b.Counter) // stored as a signed 64-bit value
		})
		if len(got) != len(want) {
			t.Fatalf("Readings yielded %d, want %d", len(got), len(want))
		}
		for i := range want {
			if !equalReading(got[i], want[i]) {
				t.Fatalf("Readings[%d] = %s/%d, want %s/%d", i, got[i].Meter, got[i].Counter, want[i].Meter, want[i].Counter)
			}
		}
		// The callback may use the store while the scan is open.
		err := s.Readings(ctx, func(r Reading) error {
			got, err := s.Reading(ctx, r.Key())
			if err == nil && !equalReading(got, r) {
				err = fmt.Errorf("Reading(%v) inside the scan differs", r.Key())
			}
			return err
		})
		if err != nil {
			t.Fatalf("store use inside Readings: %v", err)
		}
		// The callback's error stops the scan and comes back unchanged.
		stop := errors.New("stop")
		calls := 0
		err = s.Readings(ctx, func(Reading) error { calls++; return stop })
		if !errors.Is(err, stop) || calls != 1 {
			t.Fatalf("Readings with failing callback: %v after %d calls", err, calls)
		}
	})
}

// TestDuplicateLeavesStoreUnchanged is the all-or-nothing guarantee: a batch
// whose 200th reading is already stored changes nothing, not even the
// readings before it, the hashes or the checkpoint.
func TestDuplicateLeavesStoreUnchanged(t *testing.T) {
	backends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		s := be.open(t)
		mustCommit(t, s, Batch{Readings: readings("m", 0, 100), Hashes: hashes(0, 150), Checkpoint: []byte("cp"), CheckpointSize: 100})
		before := snap(t, s)

		batch := readings("n", 0, 300)
		batch[199] = reading("m", 42) // already stored
		err := s.Commit(ctx, Batch{Readings: batch, HashStart: 150, Hashes: hashes(150, 400), Checkpoint: []byte("cp2"), CheckpointSize: 400})
		if !errors.Is(err, ErrDuplicate) {
			t.Fatalf("Commit with a stored key: %v, want ErrDuplicate", err)
		}
		if after := snap(t, s); !reflect.DeepEqual(before, after) {
			t.Fatalf("store changed by a rejected batch: %d readings, %d hashes, checkpoint %q (before: %d, %d, %q)",
				after.Count, len(after.Hashes), after.Checkpoint, before.Count, len(before.Hashes), before.Checkpoint)
		}

		// A key twice within one batch is a duplicate too.
		twice := readings("p", 0, 10)
		twice[9] = twice[2]
		if err := s.Commit(ctx, Batch{Readings: twice}); !errors.Is(err, ErrDuplicate) {
			t.Fatalf("Commit with a repeated key: %v, want ErrDuplicate", err)
		}
		if after := snap(t, s); !reflect.DeepEqual(before, after) {
			t.Fatalf("store changed by a batch with a repeated key")
		}
		// The store still accepts the corrected batch.
		batch[199] = reading("n", 199)
		mustCommit(t, s, Batch{Readings: batch, HashStart: 150, Hashes: hashes(150, 400)})
		if n, _ := s.CountReadings(ctx); n != 400 {
			t.Fatalf("after the corrected batch: %d readings, want 400", n)
		}
	})
}

func TestLedgerGap(t *testing.T) {
	backends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		s := be.open(t)
		mustCommit(t, s, Batch{Readings: readings("m", 0, 3), Hashes: hashes(0, 5)})
		before := snap(t, s)
		for _, start := range []int64{0, 4, 6, -1} {
			err := s.Commit(ctx, Batch{Readings: readings("m", 3, 2), HashStart: start, Hashes: hashes(int(max(start, 0)), 2), Checkpoint: []byte("x"), CheckpointSize: 5})
			if !errors.Is(err, ErrLedgerGap) {
				t.Fatalf("HashStart %d with 5 stored: %v, want ErrLedgerGap", start, err)
			}
		}
		if after := snap(t, s); !reflect.DeepEqual(before, after) {
			t.Fatalf("store changed by batches with a ledger gap")
		}
		mustCommit(t, s, Batch{Readings: readings("m", 3, 2), HashStart: 5, Hashes: hashes(5, 2)})
		if hs, _ := s.LedgerHashes(ctx); !reflect.DeepEqual(hs, hashes(0, 7)) {
			t.Fatalf("ledger after gap-free commit has %d hashes, want 7", len(hs))
		}
	})
}

func TestInvalidReadingRejected(t *testing.T) {
	backends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		s := be.open(t)
		for name, mutate := range map[string]func(*Reading){
			"empty meter":     func(r *Reading) { r.Meter = "" },
			"NUL in meter":    func(r *Reading) { r.Meter = "m\x00" },
			"bad UTF-8 meter": func(r *Reading) { r.Meter = "m\xff" },
			"NUL in gateway":  func(r *Reading) { r.Gateway = "\x00" },
		} {
			rs := readings("ok", 0, 3)
			mutate(&rs[1])
			if err := s.Commit(ctx, Batch{Readings: rs}); !errors.Is(err, ErrInvalid) {
				t.Errorf("%s: Commit = %v, want ErrInvalid", name, err)
			}
		}
		if n, _ := s.CountReadings(ctx); n != 0 {
			t.Fatalf("invalid batches stored %d readings", n)
		}
	})
}

func TestReopenKeepsData(t *testing.T) {
	backends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		s := be.open(t)
		mustCommit(t, s, Batch{Readings: readings("m", 0, 10), Hashes: hashes(0, 12), Checkpoint: []byte("cp"), CheckpointSize: 10})
		before := snap(t, s)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = be.open(t)
		if after := snap(t, s); !reflect.DeepEqual(before, after) {
			t.Fatal("reopened store differs from the one closed")
		}
		var versions int
		if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&versions); err != nil {
			t.Fatal(err)
		}
		ms, _ := schema.Migrations(be.name)
		if versions != len(ms) {
			t.Fatalf("schema_migrations holds %d rows, want %d (each migration once)", versions, len(ms))
		}
		// Commits continue the reopened ledger.
		mustCommit(t, s, Batch{Readings: readings("m", 10, 1), HashStart: 12, Hashes: hashes(12, 1)})
	})
}

func TestSchemaTooNewRefused(t *testing.T) {
	backends(t, func(t *testing.T, be backend) {
		s := be.open(t)
		if _, err := s.db.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 0)"); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if _, err := Open(context.Background(), be.dsn, nil); !errors.Is(err, ErrSchemaVersion) {
			t.Fatalf("Open of a database from the future: %v, want ErrSchemaVersion", err)
		}
	})
}

// TestConcurrentReadersDuringCommits checks, under the race detector, that
// readers run while batches commit and never see part of a batch: every
// batch holds 10 readings and 10 hashes, so any count a reader sees is a
// multiple of 10.
func TestConcurrentReadersDuringCommits(t *testing.T) {
	backends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		s := be.open(t)
		const batches, per = 40, 10
		var done atomic.Bool
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		reader := func(check func() error) {
			defer wg.Done()
			for !done.Load() {
				if err := check(); err != nil {
					errs <- err
					return
				}
			}
		}
		multiple := func(what string, n int64) error {
			if n%per != 0 {
				return fmt.Errorf("%s saw %d, part of a batch", what, n)
			}
			return nil
		}
		wg.Add(4)
		go reader(func() error {
			n, err := s.CountReadings(ctx)
			if err != nil {
				return err
			}
			return multiple("CountReadings", n)
		})
		go reader(func() error {
			hs, err := s.LedgerHashes(ctx)
			if err != nil {
				return err
			}
			return multiple("LedgerHashes", int64(len(hs)))
		})
		go reader(func() error {
			var n int64
			err := s.Readings(ctx, func(Reading) error { n++; return nil })
			if err != nil {
				return err
			}
			return multiple("Readings", n)
		})
		go reader(func() error {
			keys := make([]Key, 0, batches*per)
			for i := range uint64(batches * per) {
				keys = append(keys, Key{"m", i})
			}
			m, err := s.Lookup(ctx, keys)
			if err != nil {
				return err
			}
			return multiple("Lookup", int64(len(m)))
		})
		for i := range batches {
			b := Batch{Readings: readings("m", uint64(i*per), per), HashStart: int64(i * per), Hashes: hashes(i*per, per)}
			if err := s.Commit(ctx, b); err != nil {
				t.Errorf("Commit %d: %v", i, err)
				break
			}
		}
		done.Store(true)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if n, _ := s.CountReadings(ctx); n != batches*per {
			t.Fatalf("stored %d readings, want %d", n, batches*per)
		}
	})
}

// TestConcurrentWritersCaught has four Stores on one database (as if a
// second head-end were wrongly started) race to commit batches that all claim
// hash index 0: the database's keys let exactly one win, the others get
// ErrLedgerGap and apply nothing.
func TestConcurrentWritersCaught(t *testing.T) {
	backends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		stores := []*Store{be.open(t), be.open(t), be.open(t), be.open(t)}
		s := stores[0]
		var wins atomic.Int64
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := stores[g].Commit(ctx, Batch{Readings: readings(fmt.Sprint("g", g), 0, 5), HashStart: 0, Hashes: hashes(0, 3)})
				switch {
				case err == nil:
					wins.Add(1)
				case !errors.Is(err, ErrLedgerGap):
					t.Errorf("goroutine %d: %v", g, err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d commits claimed hash 0, want exactly 1", wins.Load())
		}
		if n, _ := s.CountReadings(ctx); n != 5 {
			t.Fatalf("stored %d readings, want the winner's 5", n)
		}
	})
}

func TestSQLitePragmas(t *testing.T) {
	s := backend{dialectSQLite, filepath.Join(t.TempDir(), "sub", "dir", "store.db")}.open(t)
	// Several connections at once, so that more than one is checked.
	conns := make([]interface{ Close() error }, 0, 3)
	for range 3 {
		c, err := s.db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		for pragma, want := range map[string]string{"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "busy_timeout": "10000"} {
			var got string
			if err := c.QueryRowContext(context.Background(), "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("PRAGMA %s = %q, want %q", pragma, got, want)
			}
		}
	}
	for _, c := range conns {
		c.Close()
	}
}

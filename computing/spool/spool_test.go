package spool_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/usapp/usapp/computing/spool"
)

const crashEnv = "USAPP_SPOOL_CRASH_CHILD"

// TestMain doubles as the child of TestCrashKill: with crashEnv set, the
// binary writes rows, reports them durable and kills itself.
func TestMain(m *testing.M) {
	if path := os.Getenv(crashEnv); path != "" {
		crashChild(path)
		return
	}
	os.Exit(m.Run())
}

func entry(gw string, meter, counter int) spool.Entry {
	return spool.Entry{
		Gateway: gw,
		Meter:   fmt.Sprintf("m%d", meter),
		Counter: uint64(counter),
		Sealed:  fmt.Appendf(nil, "sealed|%s|%d|%d", gw, meter, counter),
		Record:  fmt.Appendf(nil, "record|%s|%d|%d", gw, meter, counter),
	}
}

func openT(t testing.TB, path string) *spool.Spool {
	t.Helper()
	s, err := spool.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestPutDueAckCycle(t *testing.T) {
	ctx := context.Background()
	s := openT(t, filepath.Join(t.TempDir(), "spool.db"))
	for i := range 5 {
		if err := s.Put(ctx, entry("gw1", 1, i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Put(ctx, entry("gw2", 1, 0)); err != nil {
		t.Fatal(err)
	}
	due, err := s.Due(ctx, "gw1", time.Now(), 0)
	if err != nil || len(due) != 5 {
		t.Fatalf("due %d: %v", len(due), err)
	}
	for i, e := range due {
		want := entry("gw1", 1, i)
		if e.Counter != uint64(i) || !bytes.Equal(e.Sealed, want.Sealed) || !bytes.Equal(e.Record, want.Record) || e.Attempts != 0 || !e.LastSent.IsZero() || e.Acked {
			t.Fatalf("due[%d] = %+v", i, e)
		}
	}
	if d, _ := s.Due(ctx, "gw1", time.Now(), 2); len(d) != 2 || d[1].Counter != 1 {
		t.Fatalf("limit 2: %+v", d)
	}

	t0 := time.Unix(1_700_000_000, 0)
	if err := s.MarkSent(ctx, "gw1", []spool.Key{due[0].Key(), due[1].Key(), {Meter: "none", Counter: 9}}, t0); err != nil {
		t.Fatal(err)
	}
	// Sent at t0: not due for a cutoff at t0, due for a later cutoff.
	if d, _ := s.Due(ctx, "gw1", t0, 0); len(d) != 3 || d[0].Counter != 2 {
		t.Fatalf("due before t0: %+v", d)
	}
	if d, _ := s.Due(ctx, "gw1", time.Time{}, 0); len(d) != 3 {
		t.Fatalf("never sent: %d", len(d))
	}
	d, _ := s.Due(ctx, "gw1", t0.Add(time.Second), 0)
	if len(d) != 5 || d[0].Attempts != 1 || !d[0].LastSent.Equal(t0) {
		t.Fatalf("due after t0: %+v", d)
	}
	s.MarkSent(ctx, "gw1", []spool.Key{due[0].Key()}, t0.Add(time.Minute))
	if e, _ := s.Get(ctx, "gw1", due[0].Key()); e.Attempts != 2 || !e.LastSent.Equal(t0.Add(time.Minute)) {
		t.Fatalf("after second send: %+v", e)
	}

	if first, err := s.Ack(ctx, "gw1", due[0].Key(), []byte("receipt-0")); err != nil || !first {
		t.Fatal(err)
	}
	if _, err := s.Ack(ctx, "gw1", spool.Key{Meter: "m1", Counter: 99}, []byte("r")); !errors.Is(err, spool.ErrNotFound) {
		t.Fatalf("ack missing: %v, want ErrNotFound", err)
	}
	if _, err := s.Ack(ctx, "gw2", due[1].Key(), []byte("r")); !errors.Is(err, spool.ErrNotFound) {
		t.Fatalf("ack of another gateway's key: %v, want ErrNotFound", err)
	}
	e, err := s.Get(ctx, "gw1", due[0].Key())
	if err != nil || !e.Acked || string(e.Receipt) != "receipt-0" || !bytes.Equal(e.Record, due[0].Record) {
		t.Fatalf("acked entry %+v: %v", e, err)
	}
	if d, _ := s.Due(ctx, "gw1", time.Now(), 0); len(d) != 4 || d[0].Counter != 1 {
		t.Fatalf("acked entry still due: %+v", d)
	}
	if _, err := s.Get(ctx, "gw1", spool.Key{Meter: "m9", Counter: 1}); !errors.Is(err, spool.ErrNotFound) {
		t.Fatalf("get missing: %v", err)
	}
	if n, _ := s.Pending(ctx, "gw1"); n != 4 {
		t.Fatalf("pending gw1 %d", n)
	}
	if n, _ := s.Pending(ctx, "gw2"); n != 1 {
		t.Fatalf("pending gw2 %d", n)
	}
	if st, _ := s.Stats(ctx); st != (spool.Stats{Entries: 6, Acked: 1, Pending: 5}) {
		t.Fatalf("stats %+v", st)
	}
}

func TestPutIdempotentAndValidated(t *testing.T) {
	ctx := context.Background()
	s := openT(t, filepath.Join(t.TempDir(), "spool.db"))
	e := entry("gw", 1, 7)
	e.Counter = 1<<64 - 1 // the full uint64 range survives the int64 column
	for range 3 {
		if err := s.Put(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	other := e
	other.Sealed = []byte("a different payload under the same key")
	if err := s.PutBatch(ctx, []spool.Entry{other, entry("gw", 1, 8)}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "gw", e.Key())
	if err != nil || !bytes.Equal(got.Sealed, e.Sealed) || got.Counter != e.Counter {
		t.Fatalf("first write must win: %+v %v", got, err)
	}
	if st, _ := s.Stats(ctx); st.Entries != 2 {
		t.Fatalf("entries %d, want 2", st.Entries)
	}
	for _, bad := range []spool.Entry{{Meter: "m", Sealed: []byte("x"), Record: []byte("r")}, {Gateway: "g", Meter: "m", Record: []byte("r")}, {Gateway: "g", Meter: "m", Sealed: []byte("x")}} {
		if err := s.Put(ctx, bad); !errors.Is(err, spool.ErrInvalid) {
			t.Errorf("Put(%+v): %v, want ErrInvalid", bad, err)
		}
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "spool.db")
	s, err := spool.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		s.Put(ctx, entry("gw", i%3, i))
	}
	s.MarkSent(ctx, "gw", []spool.Key{entry("gw", 0, 0).Key()}, time.Unix(5, 0))
	s.Ack(ctx, "gw", entry("gw", 1, 1).Key(), []byte("rcpt"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, entry("gw", 0, 100)); !errors.Is(err, spool.ErrClosed) {
		t.Fatalf("put after close: %v, want ErrClosed", err)
	}
	s2 := openT(t, path)
	if st, _ := s2.Stats(ctx); st != (spool.Stats{Entries: 10, Acked: 1, Pending: 9}) {
		t.Fatalf("after reopen: %+v", st)
	}
	e, _ := s2.Get(ctx, "gw", entry("gw", 0, 0).Key())
	if e.Attempts != 1 || !e.LastSent.Equal(time.Unix(5, 0)) {
		t.Fatalf("send state lost: %+v", e)
	}
	e, _ = s2.Get(ctx, "gw", entry("gw", 1, 1).Key())
	if !e.Acked || string(e.Receipt) != "rcpt" {
		t.Fatalf("receipt lost: %+v", e)
	}
}

// TestUnclosedSeenBySecondSpool: rows from a spool that was never closed are
// visible to another *Spool on the same file, which can also write.
func TestUnclosedSeenBySecondSpool(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "spool.db")
	a := openT(t, path)
	for i := range 20 {
		if err := a.Put(ctx, entry("gw", 1, i)); err != nil {
			t.Fatal(err)
		}
	}
	b := openT(t, path)
	if d, err := b.Due(ctx, "gw", time.Now(), 0); err != nil || len(d) != 20 {
		t.Fatalf("second spool sees %d: %v", len(d), err)
	}
	if _, err := b.Ack(ctx, "gw", entry("gw", 1, 3).Key(), []byte("r")); err != nil {
		t.Fatal(err)
	}
	if n, _ := a.Pending(ctx, "gw"); n != 19 {
		t.Fatalf("first spool pending %d, want 19", n)
	}
}

const crashRows = 500

func crashChild(path string) {
	s, err := spool.Open(path, nil)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	var wg sync.WaitGroup
	for g := range 10 {
		wg.Go(func() {
			for i := g; i < crashRows; i += 10 {
				if err := s.Put(context.Background(), entry("gw-crash", g, i)); err != nil {
					fmt.Println("put:", err)
					os.Exit(2)
				}
			}
		})
	}
	wg.Wait()
	fmt.Println("durable", crashRows)
	os.Stdout.Sync()
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
}

// TestCrashKill: a process that put rows and was killed (no Close, no
// checkpoint of the WAL) leaves every acknowledged row readable.
func TestCrashKill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spool.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	out, err := cmd.Output()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die by SIGKILL: %v, output %q", err, out)
	}
	if string(out) != "durable "+strconv.Itoa(crashRows)+"\n" {
		t.Fatalf("child output %q", out)
	}
	s := openT(t, path)
	d, err := s.Due(context.Background(), "gw-crash", time.Now(), 0)
	if err != nil || len(d) != crashRows {
		t.Fatalf("after crash %d rows: %v", len(d), err)
	}
}

// TestConcurrentPutters: many goroutines, every row durable once Put
// returns, and visible; run with -race.
func TestConcurrentPutters(t *testing.T) {
	ctx := context.Background()
	s := openT(t, filepath.Join(t.TempDir(), "spool.db"))
	const putters, each = 32, 40
	var wg sync.WaitGroup
	for p := range putters {
		wg.Go(func() {
			gw := fmt.Sprintf("gw%02d", p)
			for i := range each {
				var err error
				if i%4 == 0 {
					err = s.PutBatch(ctx, []spool.Entry{entry(gw, 1, i), entry(gw, 2, i)})
				} else {
					err = s.Put(ctx, entry(gw, 1, i))
				}
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := s.Get(ctx, gw, entry(gw, 1, i).Key()); err != nil {
					t.Errorf("row not visible after Put returned: %v", err)
					return
				}
			}
			if _, err := s.Ack(ctx, gw, entry(gw, 1, p%each).Key(), []byte("r")); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	want := int64(putters * (each + each/4))
	if st, _ := s.Stats(ctx); st != (spool.Stats{Entries: want, Acked: putters, Pending: want - putters}) {
		t.Fatalf("stats %+v, want %d entries", st, want)
	}
}

func TestContextAndClose(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "spool.db"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// A cancelled context may still win the race to the writer; either the
	// row is durable or the error is the context's.
	err := s.Put(ctx, entry("gw", 1, 1))
	if _, gerr := s.Get(context.Background(), "gw", entry("gw", 1, 1).Key()); (err == nil) != (gerr == nil) {
		t.Fatalf("put %v but get %v", err, gerr)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled put: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if _, err := s.Ack(context.Background(), "gw", spool.Key{}, nil); !errors.Is(err, spool.ErrClosed) {
		t.Fatalf("ack after close: %v", err)
	}
}

package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/usapp/usapp/platform/store"
)

// The head-end's loop: look the batch up, keep what is new, commit it
// together with the ledger's new hashes and checkpoint.
func Example() {
	dir, _ := os.MkdirTemp("", "store-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	s, err := store.Open(ctx, filepath.Join(dir, "headend.db"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	r := store.Reading{Meter: "meter-1", Counter: 7, Gateway: "gw-1",
		IntervalStart: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Interval: 30 * time.Minute, EnergyWh: 412}
	seen, _ := s.Lookup(ctx, []store.Key{r.Key()})
	fmt.Println("already stored:", len(seen))

	err = s.Commit(ctx, store.Batch{Readings: []store.Reading{r}, HashStart: 0, Hashes: []tlog.Hash{{1}}})
	fmt.Println("commit:", err)
	err = s.Commit(ctx, store.Batch{Readings: []store.Reading{r}})
	fmt.Println("again is a duplicate:", errors.Is(err, store.ErrDuplicate))
	n, _ := s.CountReadings(ctx)
	fmt.Println("readings:", n, "dialect:", s.Dialect())
	// Output:
	// already stored: 0
	// commit: <nil>
	// again is a duplicate: true
	// readings: 1 dialect: sqlite
}

package daemon

import (
	"context"
	"errors"
	"fmt"

	"github.com/usapp/usapp/platform/bus"
)

// untilBusCloses returns a context that ends with ctx or when conn closes
// for good, with stop to release it, and why, the error a daemon stops with
// in the second case (nil if ctx ended first). A connection the bus closed
// for good does not come back: without this a daemon would run on, spooling
// or fetching nothing, with only warnings in its log.
func untilBusCloses(ctx context.Context, conn *bus.Conn) (run context.Context, stop func(), why func() error) {
	run, stop = context.WithCancel(ctx)
	go func() {
		select {
		case <-conn.Closed():
			stop()
		case <-run.Done():
		}
	}()
	why = func() error {
		err := conn.Err()
		switch {
		case err == nil:
			return nil
		case errors.Is(err, bus.ErrCertificateRefused):
			return &Hinted{fmt.Errorf("the bus closed this connection: %w", err),
				"its certificate was revoked, has expired, or is from another CA: look it up with `usapp ca list` on the CA, " +
					"and enrol again with a new token"}
		default:
			return fmt.Errorf("the bus closed this connection for good: %w", err)
		}
	}
	return run, stop, why
}

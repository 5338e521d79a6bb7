// Package testnet holds what tests that start real servers need around them:
// a free loopback port to listen on and a poll for a condition that becomes
// true once a server has caught up. It has no USaPP control of its own; it
// serves the tests of the roles that implement them.
package testnet

import (
	"net"
	"testing"
	"time"
)

// FreeAddr returns a loopback address with a port that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Eventually calls fn every interval until it returns nil, and fails the test
// with fn's last error once timeout has passed.
func Eventually(t testing.TB, timeout, interval time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", timeout, err)
		}
		time.Sleep(interval)
	}
}

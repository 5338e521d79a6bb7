// Package clock gives roles their notion of time, so that a simulated day runs
// faster than real time and tests control time exactly.
//
// Domain packages (pki, envelope, ledger) take a time.Time argument instead of
// a Clock: only roles and simulations hold clocks.
package clock

import (
	"sync"
	"time"
)

// Clock tells the time.
type Clock interface {
	Now() time.Time
}

// Real is the system clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// Sim is a clock that moves only when told to. It is safe for concurrent use.
type Sim struct {
	mu  sync.RWMutex
	now time.Time
}

// NewSim returns a simulated clock standing at start.
func NewSim(start time.Time) *Sim { return &Sim{now: start} }

// Now returns the simulated time.
func (s *Sim) Now() time.Time {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.now
}

// Set moves the clock to t. Moving it backwards is allowed (tests use it to
// provoke staleness), though simulations only move forward.
func (s *Sim) Set(t time.Time) {
	s.mu.Lock()
	s.now = t
	s.mu.Unlock()
}

// Advance moves the clock forward by d and returns the new time.
func (s *Sim) Advance(d time.Duration) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(d)
	return s.now
}

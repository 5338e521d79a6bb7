package ca

import (
	"context"
	"crypto/x509"
	"math/big"
	"slices"
	"sync"

	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/comms/pki/est"
)

// directory wraps the CA's state to find issued certificates by device
// identity (pki.FiledUnder: the LFDI, stable across renewals), so the
// head-end can resolve a sender it has never seen. It answers a device's
// newest est.MaxDirectoryCerts certificates, not only the last: a device that
// renews with a new key signs with both for a while (its spool may deliver
// readings signed with the old key days later), and a verifier needs every
// key it may meet.
//
// A state that keeps the certificates itself (dbstate.State, the daemon's)
// answers the look-ups from its database; any other (the demo's memory
// state) gets an index in memory, which lives as long as that state does.
type directory struct {
	pki.State
	index  issuedIndex // nil: the memory index below
	mu     sync.RWMutex
	by     map[string][]*x509.Certificate // newest first
	serial map[string]*x509.Certificate   // by hex serial, every one
}

// issuedIndex is a state that finds the certificates it recorded by identity
// and by serial.
type issuedIndex interface {
	Issued(ctx context.Context, identity string) ([]*x509.Certificate, error)
	IssuedSerial(ctx context.Context, serial *big.Int) (*x509.Certificate, error)
}

func newDirectory(st pki.State) *directory {
	if idx, ok := st.(issuedIndex); ok {
		return &directory{State: st, index: idx}
	}
	return &directory{State: st, by: map[string][]*x509.Certificate{}, serial: map[string]*x509.Certificate{}}
}

// RecordIssued keeps c before the CA hands it out.
func (d *directory) RecordIssued(c *x509.Certificate) error {
	if err := d.State.RecordIssued(c); err != nil || d.index != nil {
		return err
	}
	d.mu.Lock()
	d.keep(c)
	d.serial[c.SerialNumber.Text(16)] = c
	d.mu.Unlock()
	return nil
}

// keep indexes c under its identity, newest (latest NotBefore, then latest
// NotAfter) first, dropping what falls past est.MaxDirectoryCerts; the caller
// holds mu.
func (d *directory) keep(c *x509.Certificate) {
	lfdi := pki.FiledUnder(c)
	cs := append([]*x509.Certificate{c}, d.by[lfdi]...) // on a tie the later recorded is newer
	slices.SortStableFunc(cs, newestFirst)
	d.by[lfdi] = cs[:min(len(cs), est.MaxDirectoryCerts)]
}

func newestFirst(a, b *x509.Certificate) int {
	if c := b.NotBefore.Compare(a.NotBefore); c != 0 {
		return c
	}
	return b.NotAfter.Compare(a.NotAfter)
}

// lookup returns the device's certificates, newest first.
func (d *directory) lookup(ctx context.Context, lfdi string) ([]*x509.Certificate, error) {
	if d.index != nil {
		cs, err := d.index.Issued(ctx, lfdi)
		slices.Reverse(cs) // on a tie the later recorded is newer, as in keep
		slices.SortStableFunc(cs, newestFirst)
		return cs[:min(len(cs), est.MaxDirectoryCerts)], err
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	return slices.Clone(d.by[lfdi]), nil
}

// bySerial returns the certificate issued with serial, or nil if none: what
// the head-end needs to find a revoked device's connection on an external
// bus, which knows a connection's certificate only by its digest.
func (d *directory) bySerial(ctx context.Context, serial *big.Int) (*x509.Certificate, error) {
	if d.index != nil {
		return d.index.IssuedSerial(ctx, serial)
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.serial[serial.Text(16)], nil
}

package ca

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/internal/durable"
)

// directory wraps the CA's state to index issued certificates by device
// identity (the LFDI, stable across renewals), in memory and as one DER file
// per identity, so the head-end can resolve a sender it has never seen. It
// keeps the certificate that expires last: a renewal replaces its
// predecessor.
type directory struct {
	pki.State
	path string
	mu   sync.RWMutex
	by   map[string]*x509.Certificate
}

func openDirectory(st pki.State, path string) (*directory, error) {
	d := &directory{State: st, path: path, by: map[string]*x509.Certificate{}}
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".der") {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(path, e.Name()))
		if err != nil {
			return nil, err
		}
		c, err := x509.ParseCertificate(raw)
		if err != nil {
			return nil, err
		}
		d.keep(c)
	}
	return d, nil
}

func (d *directory) RecordIssued(c *x509.Certificate) error {
	if err := d.State.RecordIssued(c); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	lfdi, newer := d.keep(c)
	if !newer {
		return nil
	}
	return durable.WriteFile(filepath.Join(d.path, lfdi+".der"), c.Raw, 0o644)
}

// keep indexes c under its identity unless a certificate expiring later is
// already there; the caller holds mu (or is the only user, at open).
func (d *directory) keep(c *x509.Certificate) (string, bool) {
	id, err := pki.IdentityOf(c)
	lfdi := id.LFDI
	if err != nil {
		lfdi = pki.LFDI(c.Raw) // a service certificate: index it as it is
	}
	if old, ok := d.by[lfdi]; ok && !c.NotAfter.After(old.NotAfter) {
		return lfdi, false
	}
	d.by[lfdi] = c
	return lfdi, true
}

func (d *directory) lookup(lfdi string) (*x509.Certificate, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	c, ok := d.by[lfdi]
	return c, ok
}

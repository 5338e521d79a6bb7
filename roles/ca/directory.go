package ca

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/usapp/usapp/comms/pki"
)

// directory wraps the CA's state to index every issued certificate by LFDI,
// in memory and as one DER file per certificate, so the head-end can resolve
// a sender it has never seen.
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
		d.by[pki.LFDI(c.Raw)] = c
	}
	return d, nil
}

func (d *directory) RecordIssued(c *x509.Certificate) error {
	if err := d.State.RecordIssued(c); err != nil {
		return err
	}
	lfdi := pki.LFDI(c.Raw)
	if err := os.WriteFile(filepath.Join(d.path, lfdi+".der"), c.Raw, 0o644); err != nil {
		return err
	}
	d.mu.Lock()
	d.by[lfdi] = c
	d.mu.Unlock()
	return nil
}

func (d *directory) lookup(lfdi string) (*x509.Certificate, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	c, ok := d.by[lfdi]
	return c, ok
}

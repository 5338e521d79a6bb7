package ca

import (
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/comms/pki/est"
	"github.com/usapp/usapp/internal/durable"
)

// directory wraps the CA's state to index issued certificates by device
// identity (the LFDI, stable across renewals), in memory and as one DER file
// per certificate, so the head-end can resolve a sender it has never seen. It
// keeps a device's newest est.MaxDirectoryCerts certificates, not only the
// last: a device that renews with a new key signs with both for a while (its
// spool may deliver readings signed with the old key days later), and a
// verifier needs every key it may meet.
type directory struct {
	pki.State
	path string
	mu   sync.RWMutex
	by   map[string][]*x509.Certificate // newest first
}

// openDirectory loads the certificates kept in path; an empty path keeps
// them in memory only.
func openDirectory(st pki.State, path string) (*directory, error) {
	d := &directory{State: st, path: path, by: map[string][]*x509.Certificate{}}
	if path == "" {
		return d, nil
	}
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

// RecordIssued keeps c durably before the CA hands it out, so a restarted CA
// still resolves every device it enrolled. Each certificate has its own file
// (identity and serial), written outside the lock so that concurrent
// enrolments' fsyncs overlap; loading keeps the newest per identity as keep does.
func (d *directory) RecordIssued(c *x509.Certificate) error {
	if err := d.State.RecordIssued(c); err != nil {
		return err
	}
	if d.path != "" {
		name := fmt.Sprintf("%s-%s.der", identityOf(c), c.SerialNumber.Text(16))
		if err := durable.WriteFile(filepath.Join(d.path, name), c.Raw, 0o644); err != nil {
			return err
		}
	}
	d.mu.Lock()
	d.keep(c)
	d.mu.Unlock()
	return nil
}

// identityOf is the LFDI a certificate is filed under: the device identity,
// or the certificate's own LFDI for a service certificate.
func identityOf(c *x509.Certificate) string {
	if id, err := pki.IdentityOf(c); err == nil {
		return id.LFDI
	}
	return pki.LFDI(c.Raw)
}

// keep indexes c under its identity, newest (latest NotBefore, then latest
// NotAfter) first, dropping what falls past est.MaxDirectoryCerts; the caller
// holds mu (or is the only user, at open).
func (d *directory) keep(c *x509.Certificate) {
	lfdi := identityOf(c)
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
func (d *directory) lookup(lfdi string) []*x509.Certificate {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return slices.Clone(d.by[lfdi])
}

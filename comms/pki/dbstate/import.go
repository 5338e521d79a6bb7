package dbstate

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/internal/durable"
)

// ImportedSuffix is appended to a state file's name once its content is in
// the database, so that nobody mistakes it for the live state.
const ImportedSuffix = ".imported"

// ImportFile moves the content of a pki.FileState file at path into an empty
// database, in one transaction, then renames the file to path+ImportedSuffix.
// The certificates in certsDir (DER files, *.der, as roles/ca kept them next
// to the file; "" for none) join their audit records in the same
// transaction. It reports whether it found a file. A missing file is not an error; a
// database that already holds CA state is ErrNotEmpty, unless it holds this
// very file's content (a crash came between the commit and the rename), in
// which case only the rename is done. A malformed file is pki.ErrStateFile,
// and the database is left untouched.
func (s *State) ImportFile(ctx context.Context, path, certsDir string) (bool, error) {
	raw, err := readBounded(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("dbstate: import %s: %w", path, err)
	}
	snap, err := pki.DecodeStateFile(raw)
	if err != nil {
		return true, fmt.Errorf("dbstate: import %s: %w", path, err)
	}
	certs, err := readCertificates(certsDir)
	if err != nil {
		return true, fmt.Errorf("dbstate: import %s: %w", path, err)
	}
	digest := sha256.Sum256(raw)
	if err := s.importSnapshot(ctx, snap, certs, digest); err != nil {
		return true, fmt.Errorf("dbstate: import %s: %w", path, err)
	}
	if err := durable.Rename(path, path+ImportedSuffix); err != nil {
		return true, fmt.Errorf("dbstate: imported %s but could not move it aside: %w", path, err)
	}
	s.log.Info("CA state file imported", "file", path, "serial", snap.Serial, "tokens", len(snap.Tokens),
		"revoked", len(snap.Revoked), "issued", len(snap.Issued), "certificates", len(certs), "moved_to", path+ImportedSuffix)
	return true, nil
}

// readBounded reads a state file, refusing one larger than any FileState
// would write before it reads it whole.
func readBounded(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Size() > pki.MaxStateFile {
		return nil, fmt.Errorf("%d bytes, more than a state file holds: %w", fi.Size(), pki.ErrStateFile)
	}
	return os.ReadFile(path)
}

// importSnapshot writes snap into an empty database and records its digest.
func (s *State) importSnapshot(ctx context.Context, snap pki.StateSnapshot, certs []*x509.Certificate, digest [32]byte) error {
	if !snap.Serial.IsInt64() || snap.Serial.Int64() == math.MaxInt64 {
		return fmt.Errorf("serial %v does not fit the database's counter: %w", snap.Serial, pki.ErrStateFile)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var done int
	if err := tx.QueryRowContext(ctx, s.db.Rebind("SELECT COUNT(*) FROM ca_imports WHERE sha256 = ?"), digest[:]).Scan(&done); err != nil {
		return err
	}
	if done > 0 {
		return nil // imported before a crash; the caller moves the file aside
	}
	if err := s.checkEmpty(ctx, tx); err != nil {
		return err
	}
	steps := []func(context.Context, *sql.Tx, pki.StateSnapshot) error{s.importSerial, s.importTokens, s.importRevoked, s.importIssued}
	for _, step := range steps {
		if err := step(ctx, tx, snap); err != nil {
			return err
		}
	}
	if err := s.importCertificates(ctx, tx, certs); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, s.db.Rebind("INSERT INTO ca_imports (sha256, imported_at) VALUES (?, ?)"), digest[:], time.Now().UnixNano()); err != nil {
		return err
	}
	return tx.Commit()
}

func (s *State) checkEmpty(ctx context.Context, tx *sql.Tx) error {
	var serial, rows int64
	err := tx.QueryRowContext(ctx, "SELECT (SELECT last FROM ca_serial WHERE id = 1), "+
		"(SELECT COUNT(*) FROM ca_tokens) + (SELECT COUNT(*) FROM ca_revoked) + (SELECT COUNT(*) FROM ca_issued)").Scan(&serial, &rows)
	if err != nil {
		return err
	}
	if serial != 0 || rows != 0 {
		return fmt.Errorf("%w (serial %d, %d rows): move the file aside if it was imported already", ErrNotEmpty, serial, rows)
	}
	return nil
}

func (s *State) importSerial(ctx context.Context, tx *sql.Tx, snap pki.StateSnapshot) error {
	_, err := tx.ExecContext(ctx, s.db.Rebind("UPDATE ca_serial SET last = ? WHERE id = 1"), snap.Serial.Int64())
	return err
}

func (s *State) importTokens(ctx context.Context, tx *sql.Tx, snap pki.StateSnapshot) error {
	ins, err := tx.PrepareContext(ctx, s.db.Rebind("INSERT INTO ca_tokens (hash, role, name, gateway, expires, used) VALUES (?, ?, ?, ?, ?, ?)"))
	if err != nil {
		return err
	}
	defer ins.Close()
	for h, t := range snap.Tokens {
		if _, err := ins.ExecContext(ctx, h[:], string(t.Role), t.Name, t.Gateway, t.Expires.UnixNano(), t.Used); err != nil {
			return fmt.Errorf("token: %w", err)
		}
	}
	return nil
}

func (s *State) importRevoked(ctx context.Context, tx *sql.Tx, snap pki.StateSnapshot) error {
	for _, r := range snap.Revoked {
		if _, err := tx.ExecContext(ctx, s.q.revoke, r.SerialNumber.Text(16), r.RevocationTime.UnixNano()); err != nil {
			return fmt.Errorf("revocation: %w", err)
		}
	}
	return nil
}

// importIssued keeps the file's audit records. The file held neither the
// certificates nor the identities they were filed under, so der and identity
// stay NULL.
func (s *State) importIssued(ctx context.Context, tx *sql.Tx, snap pki.StateSnapshot) error {
	ins, err := tx.PrepareContext(ctx, s.db.Rebind("INSERT INTO ca_issued (serial, lfdi, subject, not_after) VALUES (?, ?, ?, ?)"))
	if err != nil {
		return err
	}
	defer ins.Close()
	for i, r := range snap.Issued {
		if _, err := ins.ExecContext(ctx, r.Serial.Text(16), r.LFDI, r.Subject, r.NotAfter.UnixNano()); err != nil {
			return fmt.Errorf("issued record %d: %w", i, err)
		}
	}
	return nil
}

// readCertificates parses every *.der file in dir; an empty dir name is none.
func readCertificates(dir string) ([]*x509.Certificate, error) {
	if dir == "" {
		return nil, nil
	}
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".der") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		c, err := x509.ParseCertificate(raw)
		if err != nil {
			return nil, fmt.Errorf("certificate %s: %w", path, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// importCertificates attaches each certificate to its audit record, or adds
// the record when the state file did not list it.
func (s *State) importCertificates(ctx context.Context, tx *sql.Tx, certs []*x509.Certificate) error {
	attach, err := tx.PrepareContext(ctx, s.db.Rebind("UPDATE ca_issued SET der = ?, identity = ? WHERE serial = ?"))
	if err != nil {
		return err
	}
	defer attach.Close()
	for _, c := range certs {
		serial := c.SerialNumber.Text(16)
		res, err := attach.ExecContext(ctx, c.Raw, pki.FiledUnder(c), serial)
		if err != nil {
			return fmt.Errorf("certificate %s: %w", serial, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("certificate %s: %w", serial, err)
		}
		if n > 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, s.q.recordIssued, serial, pki.LFDI(c.Raw), pki.FiledUnder(c),
			c.Subject.String(), c.NotAfter.UnixNano(), c.Raw); err != nil {
			return fmt.Errorf("certificate %s: %w", serial, err)
		}
	}
	return nil
}

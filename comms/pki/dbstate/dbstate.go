// Package dbstate keeps a CA's memory (comms/pki.State: one-time token
// hashes, the serial counter, revocations and the audit record of what it
// issued) in SQLite or PostgreSQL, and moves an existing pki.FileState file
// into it.
//
// Controls: A1.enrolment (a token enrols once, across restarts and
// concurrent requests), A1.certificate-rotation (a serial is never reused)
// and A1.revocation (a revocation, once recorded, is never lost).
//
// # Why a database
//
// pki.FileState rewrites its whole file at each change, so an enrolment's
// cost grows with every certificate the CA has issued (BENCHMARKS.md: 351
// enrolments/s with nothing issued, 1.5 at 100,000). Here each change is one
// short transaction on indexed rows, whatever the fleet's size. Data source
// names are platform/sqldb's; the tables carry a ca_ prefix and their own
// migrations table, so a CA may share a database with a head-end's store.
//
// # Atomicity
//
// Every method is one transaction or one statement, durable when it returns
// nil. ConsumeToken marks a token used with a single conditional UPDATE, so
// of two concurrent enrolments with one token exactly one wins, on either
// backend and from any number of processes.
package dbstate

import (
	"context"
	"crypto/x509"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"time"

	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/platform/sqldb"
)

//go:embed migrations
var migrations embed.FS

var schema = sqldb.Schema{FS: migrations, Dir: "migrations", Table: "ca_schema_migrations"}

// opTimeout bounds each operation: pki.State carries no context, and a CA
// must answer an enrolment with an error rather than hang on a lost server.
const opTimeout = 30 * time.Second

// Errors; match them with errors.Is.
var (
	// ErrNotEmpty reports an import into a state that already holds data.
	ErrNotEmpty = errors.New("dbstate: the database already holds CA state")
	// ErrNoCertificate reports an identity or serial the CA never issued.
	ErrNoCertificate = errors.New("dbstate: no such certificate issued")
)

// State is a pki.State in a database. It is safe for concurrent use, also
// by several processes on one database.
type State struct {
	db  *sqldb.DB
	q   queries
	log *slog.Logger
}

var _ pki.State = (*State)(nil)

// Open connects to the database named by dsn (see platform/sqldb) and
// migrates the CA's tables. A nil log discards log output.
func Open(ctx context.Context, dsn string, log *slog.Logger) (*State, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	db, err := sqldb.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	log = log.With("component", "ca-state", "dialect", db.Dialect())
	if err := db.Migrate(ctx, schema, log); err != nil {
		db.Close()
		return nil, err
	}
	return &State{db: db, q: newQueries(db.Rebind), log: log}, nil
}

// Close closes the database.
func (s *State) Close() error { return s.db.Close() }

// Dialect reports the backend, sqldb.SQLite or sqldb.Postgres.
func (s *State) Dialect() string { return s.db.Dialect() }

type queries struct {
	putToken, pruneTokens, consumeToken, tokenStatus  string
	nextSerial, revoke, revoked, recordIssued, issued string
	issuedSerial, identitySerials, list, bySerial     string
	revokedUnexpired                                  string
}

func newQueries(rebind func(string) string) queries {
	return queries{
		putToken:    rebind("INSERT INTO ca_tokens (hash, role, name, gateway, expires, used) VALUES (?, ?, ?, ?, ?, FALSE) ON CONFLICT (hash) DO NOTHING"),
		pruneTokens: rebind("DELETE FROM ca_tokens WHERE expires < ?"),
		consumeToken: rebind("UPDATE ca_tokens SET used = TRUE WHERE hash = ? AND NOT used AND expires > ? " +
			"RETURNING role, name, gateway, expires"),
		tokenStatus: rebind("SELECT used FROM ca_tokens WHERE hash = ?"),
		nextSerial:  "UPDATE ca_serial SET last = last + 1 WHERE id = 1 RETURNING last",
		revoke:      rebind("INSERT INTO ca_revoked (serial, revoked_at) VALUES (?, ?) ON CONFLICT (serial) DO NOTHING"),
		revoked:     "SELECT serial, revoked_at FROM ca_revoked",
		revokedUnexpired: rebind("SELECT r.serial, r.revoked_at FROM ca_revoked r LEFT JOIN ca_issued i ON i.serial = r.serial " +
			"WHERE i.not_after IS NULL OR i.not_after >= ?"),
		issuedSerial:    rebind("SELECT COUNT(*) FROM ca_issued WHERE serial = ?"),
		identitySerials: rebind("SELECT serial FROM ca_issued WHERE identity = ? ORDER BY seq"),
		issued:          rebind("SELECT der FROM ca_issued WHERE identity = ? AND der IS NOT NULL ORDER BY seq"),
		bySerial:        rebind("SELECT der FROM ca_issued WHERE serial = ? AND der IS NOT NULL"),
		recordIssued:    rebind("INSERT INTO ca_issued (serial, lfdi, identity, subject, not_after, der) VALUES (?, ?, ?, ?, ?, ?)"),
		list: rebind("SELECT i.serial, COALESCE(i.identity, ''), i.lfdi, i.subject, i.not_after, r.revoked_at " +
			"FROM ca_issued i LEFT JOIN ca_revoked r ON r.serial = i.serial " +
			"WHERE (? = '' OR i.identity = ? OR i.lfdi = ?) AND (? = '' OR LOWER(i.subject) LIKE ? ESCAPE '\\') " +
			"ORDER BY i.seq DESC LIMIT ?"),
	}
}

func op() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), opTimeout)
}

// PutToken stores a new token record; a hash already stored is pki.ErrInvalid.
func (s *State) PutToken(hash [32]byte, t pki.TokenRecord) error {
	ctx, cancel := op()
	defer cancel()
	res, err := s.db.ExecContext(ctx, s.q.putToken, hash[:], string(t.Role), t.Name, t.Gateway, t.Expires.UnixNano())
	if err != nil {
		return fmt.Errorf("dbstate: store token: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("dbstate: store token: %w", err)
	}
	if n != 1 {
		return fmt.Errorf("pki: token hash already stored: %w", pki.ErrInvalid)
	}
	return nil
}

// ConsumeToken marks a token used and returns its record. It forgets, in the
// same transaction, tokens that expired more than pki.TokenRetention ago.
func (s *State) ConsumeToken(hash [32]byte, now time.Time) (pki.TokenRecord, error) {
	ctx, cancel := op()
	defer cancel()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return pki.TokenRecord{}, fmt.Errorf("dbstate: begin: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, s.q.pruneTokens, now.Add(-pki.TokenRetention).UnixNano()); err != nil {
		return pki.TokenRecord{}, fmt.Errorf("dbstate: forget old tokens: %w", err)
	}
	// A refused token still commits: the pruning above stands.
	rec, err := s.consume(ctx, tx, hash, now)
	if err != nil && !refused(err) {
		return pki.TokenRecord{}, err
	}
	if cerr := tx.Commit(); cerr != nil {
		return pki.TokenRecord{}, fmt.Errorf("dbstate: commit: %w", cerr)
	}
	return rec, err
}

// refused reports the errors that refuse a token, as opposed to a failing
// database.
func refused(err error) bool {
	return errors.Is(err, pki.ErrTokenUsed) || errors.Is(err, pki.ErrTokenExpired) || errors.Is(err, pki.ErrTokenUnknown)
}

func (s *State) consume(ctx context.Context, tx *sql.Tx, hash [32]byte, now time.Time) (pki.TokenRecord, error) {
	var (
		rec     pki.TokenRecord
		role    string
		expires int64
	)
	err := tx.QueryRowContext(ctx, s.q.consumeToken, hash[:], now.UnixNano()).Scan(&role, &rec.Name, &rec.Gateway, &expires)
	if err == nil {
		rec.Role, rec.Expires, rec.Used = pki.Role(role), time.Unix(0, expires).UTC(), true
		return rec, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return rec, fmt.Errorf("dbstate: consume token: %w", err)
	}
	var used bool
	switch err := tx.QueryRowContext(ctx, s.q.tokenStatus, hash[:]).Scan(&used); {
	case errors.Is(err, sql.ErrNoRows):
		return rec, pki.ErrTokenUnknown
	case err != nil:
		return rec, fmt.Errorf("dbstate: token: %w", err)
	case used:
		return rec, pki.ErrTokenUsed
	default:
		return rec, pki.ErrTokenExpired
	}
}

// NextSerial returns the next serial number, 1 first.
func (s *State) NextSerial() (*big.Int, error) {
	ctx, cancel := op()
	defer cancel()
	var last int64
	if err := s.db.QueryRowContext(ctx, s.q.nextSerial).Scan(&last); err != nil {
		return nil, fmt.Errorf("dbstate: next serial: %w", err)
	}
	return big.NewInt(last), nil
}

// Revoke records a revocation; revoking twice keeps the first time.
func (s *State) Revoke(serial *big.Int, at time.Time) error {
	if serial == nil || serial.Sign() <= 0 {
		return fmt.Errorf("serial: %w", pki.ErrInvalid)
	}
	ctx, cancel := op()
	defer cancel()
	if _, err := s.db.ExecContext(ctx, s.q.revoke, serial.Text(16), at.UnixNano()); err != nil {
		return fmt.Errorf("dbstate: revoke: %w", err)
	}
	return nil
}

// Revoked lists the revocations, ordered by serial, leaving out those of
// certificates on record as expiring before cutoff (none for the zero
// cutoff).
func (s *State) Revoked(cutoff time.Time) ([]x509.RevocationListEntry, error) {
	ctx, cancel := op()
	defer cancel()
	query, args := s.q.revoked, []any(nil)
	if !cutoff.IsZero() {
		query, args = s.q.revokedUnexpired, []any{cutoff.UnixNano()}
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("dbstate: revocations: %w", err)
	}
	defer rows.Close()
	var out []x509.RevocationListEntry
	for rows.Next() {
		var (
			serial string
			at     int64
		)
		if err := rows.Scan(&serial, &at); err != nil {
			return nil, fmt.Errorf("dbstate: revocations: %w", err)
		}
		n, ok := new(big.Int).SetString(serial, 16)
		if !ok || n.Sign() <= 0 {
			return nil, fmt.Errorf("dbstate: stored serial %q: %w", serial, pki.ErrInvalid)
		}
		out = append(out, x509.RevocationListEntry{SerialNumber: n, RevocationTime: time.Unix(0, at).UTC()})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dbstate: revocations: %w", err)
	}
	// Hex text does not sort as numbers do.
	slices.SortFunc(out, func(a, b x509.RevocationListEntry) int { return a.SerialNumber.Cmp(b.SerialNumber) })
	return out, nil
}

// RecordIssued keeps the audit record of an issued certificate, with its DER.
func (s *State) RecordIssued(cert *x509.Certificate) error {
	ctx, cancel := op()
	defer cancel()
	_, err := s.db.ExecContext(ctx, s.q.recordIssued, cert.SerialNumber.Text(16), pki.LFDI(cert.Raw), pki.FiledUnder(cert),
		cert.Subject.String(), cert.NotAfter.UnixNano(), cert.Raw)
	if err != nil {
		return fmt.Errorf("dbstate: record issued certificate: %w", err)
	}
	return nil
}

// Issued returns the certificates filed under an identity (pki.FiledUnder),
// in the order they were issued. Records imported from a state file carry no
// certificate and are not returned.
func (s *State) Issued(ctx context.Context, identity string) ([]*x509.Certificate, error) {
	rows, err := s.db.QueryContext(ctx, s.q.issued, identity)
	if err != nil {
		return nil, fmt.Errorf("dbstate: issued certificates: %w", err)
	}
	defer rows.Close()
	var out []*x509.Certificate
	for rows.Next() {
		var der []byte
		if err := rows.Scan(&der); err != nil {
			return nil, fmt.Errorf("dbstate: issued certificates: %w", err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("dbstate: stored certificate: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dbstate: issued certificates: %w", err)
	}
	return out, nil
}

// IssuedSerial returns the certificate issued with serial, or nil when none
// is on record with its DER (rows imported from a file state have none).
func (s *State) IssuedSerial(ctx context.Context, serial *big.Int) (*x509.Certificate, error) {
	var der []byte
	err := s.db.QueryRowContext(ctx, s.q.bySerial, serial.Text(16)).Scan(&der)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("dbstate: certificate by serial: %w", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("dbstate: stored certificate: %w", err)
	}
	return c, nil
}

// RevokeIdentity revokes, in one transaction, every certificate filed under
// identity (a device's renewals included) as of at, and returns their
// serials. One already revoked keeps its first time. An identity with no
// certificate on record is ErrNoCertificate.
func (s *State) RevokeIdentity(ctx context.Context, identity string, at time.Time) ([]*big.Int, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("dbstate: begin: %w", err)
	}
	defer tx.Rollback()
	serials, err := issuedSerials(ctx, tx, s.q.identitySerials, identity)
	if err != nil {
		return nil, err
	}
	if len(serials) == 0 {
		return nil, fmt.Errorf("%w: none filed under %.48q", ErrNoCertificate, identity)
	}
	for _, n := range serials {
		if _, err := tx.ExecContext(ctx, s.q.revoke, n.Text(16), at.UnixNano()); err != nil {
			return nil, fmt.Errorf("dbstate: revoke: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("dbstate: commit: %w", err)
	}
	return serials, nil
}

// issuedSerials reads the serials a query over ca_issued returns.
func issuedSerials(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]*big.Int, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("dbstate: issued serials: %w", err)
	}
	defer rows.Close()
	var out []*big.Int
	for rows.Next() {
		var hex string
		if err := rows.Scan(&hex); err != nil {
			return nil, fmt.Errorf("dbstate: issued serials: %w", err)
		}
		n, ok := new(big.Int).SetString(hex, 16)
		if !ok {
			return nil, fmt.Errorf("dbstate: stored serial %q: %w", hex, pki.ErrInvalid)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dbstate: issued serials: %w", err)
	}
	return out, nil
}

// RevokeSerial revokes the certificate with the given serial as of at. A
// serial the CA never issued is ErrNoCertificate: revoking it would protect
// nothing and hide a typing mistake.
func (s *State) RevokeSerial(ctx context.Context, serial *big.Int, at time.Time) error {
	if serial == nil || serial.Sign() <= 0 {
		return fmt.Errorf("serial: %w", pki.ErrInvalid)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, s.q.issuedSerial, serial.Text(16)).Scan(&n); err != nil {
		return fmt.Errorf("dbstate: issued serial: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("%w: serial %s", ErrNoCertificate, serial.Text(16))
	}
	return s.Revoke(serial, at)
}

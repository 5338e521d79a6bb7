package dbstate

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/usapp/usapp/comms/pki"
)

// Listing is one certificate of the CA's audit trail, as an operator looks
// it up before revoking it.
type Listing struct {
	Serial *big.Int
	// Identity is the LFDI the certificate is filed under (pki.FiledUnder):
	// a device's first certificate's, kept by its renewals. Empty for
	// records imported from a state file, which did not keep it.
	Identity  string
	LFDI      string // of this certificate's own DER
	Subject   string
	NotAfter  time.Time
	RevokedAt time.Time // zero when not revoked
}

// Query selects from the audit trail; its zero value lists the most recent
// DefaultListLimit certificates.
type Query struct {
	// LFDI matches the identity a certificate is filed under, or its own
	// LFDI, without regard to case.
	LFDI string
	// Subject matches a substring of the subject's text form (CN=home-3,OU=gateway,...)
	// without regard to ASCII case.
	Subject string
	// Limit is the most certificates returned, most recently issued first;
	// 0 means DefaultListLimit, and it is at most MaxListLimit.
	Limit int
}

// Listing limits.
const (
	DefaultListLimit = 100
	MaxListLimit     = 100_000
)

// List returns the issued certificates that q selects, most recently issued
// first, each with its revocation time if it has one.
func (s *State) List(ctx context.Context, q Query) ([]Listing, error) {
	switch {
	case q.Limit < 0 || q.Limit > MaxListLimit:
		return nil, fmt.Errorf("limit %d: want 0 to %d: %w", q.Limit, MaxListLimit, pki.ErrInvalid)
	case q.Limit == 0:
		q.Limit = DefaultListLimit
	}
	lfdi := strings.ToUpper(q.LFDI)
	rows, err := s.db.QueryContext(ctx, s.q.list, lfdi, lfdi, lfdi, q.Subject, likePattern(q.Subject), q.Limit)
	if err != nil {
		return nil, fmt.Errorf("dbstate: list: %w", err)
	}
	defer rows.Close()
	var out []Listing
	for rows.Next() {
		var (
			l         Listing
			serial    string
			notAfter  int64
			revokedAt *int64
		)
		if err := rows.Scan(&serial, &l.Identity, &l.LFDI, &l.Subject, &notAfter, &revokedAt); err != nil {
			return nil, fmt.Errorf("dbstate: list: %w", err)
		}
		n, ok := new(big.Int).SetString(serial, 16)
		if !ok {
			return nil, fmt.Errorf("dbstate: stored serial %q: %w", serial, pki.ErrInvalid)
		}
		l.Serial, l.NotAfter = n, time.Unix(0, notAfter).UTC()
		if revokedAt != nil {
			l.RevokedAt = time.Unix(0, *revokedAt).UTC()
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dbstate: list: %w", err)
	}
	return out, nil
}

// likePattern is a LIKE pattern (escape character \) matching s anywhere,
// lower-cased, with s's own % and _ taken literally.
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(s)) + "%"
}

package pki

import (
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"sync"
	"time"
)

// State is what the CA must remember across restarts: one-time token hashes,
// the serial counter, revocations and a record of what it issued. Every
// method must be atomic and durable before it returns nil.
type State interface {
	// PutToken stores a new token record under the SHA-256 of the token.
	PutToken(hash [32]byte, t TokenRecord) error
	// ConsumeToken marks a token used and returns its record, atomically:
	// ErrTokenUnknown, ErrTokenUsed or ErrTokenExpired otherwise.
	ConsumeToken(hash [32]byte, now time.Time) (TokenRecord, error)
	// NextSerial returns a positive serial number never returned before.
	NextSerial() (*big.Int, error)
	// Revoke records a revocation; revoking twice keeps the first time.
	Revoke(serial *big.Int, at time.Time) error
	// Revoked lists the revocations, ordered by serial, leaving out those
	// of certificates on record (RecordIssued) as expiring before cutoff.
	// The zero cutoff lists every revocation. A serial with no record is
	// always listed: nothing says it has expired.
	Revoked(cutoff time.Time) ([]x509.RevocationListEntry, error)
	// RecordIssued keeps an audit record of an issued certificate.
	RecordIssued(cert *x509.Certificate) error
}

// TokenRecord is what an enrolment token grants.
type TokenRecord struct {
	Role    Role      `json:"role"`
	Name    string    `json:"name"`
	Gateway string    `json:"gateway,omitempty"`
	Expires time.Time `json:"expires"`
	Used    bool      `json:"used"`
}

// TokenRetention is how long a used or expired token is remembered, so that a
// replay reads ErrTokenUsed/ErrTokenExpired rather than ErrTokenUnknown.
// Afterwards it is forgotten; it is refused all the same.
const TokenRetention = 7 * 24 * time.Hour

// issuedRecord is the audit trail of one certificate.
type issuedRecord struct {
	Serial   string    `json:"serial"` // hex
	LFDI     string    `json:"lfdi"`
	Subject  string    `json:"subject"`
	NotAfter time.Time `json:"not_after"`
}

// stateData is the whole CA state; FileState serialises it as JSON.
type stateData struct {
	Version int                    `json:"version"`
	Serial  *big.Int               `json:"serial"`  // last serial handed out
	Tokens  map[string]TokenRecord `json:"tokens"`  // hex(SHA-256) -> record
	Revoked map[string]time.Time   `json:"revoked"` // hex serial -> time
	Issued  []issuedRecord         `json:"issued"`
}

const stateVersion = 1

func newStateData() stateData {
	return stateData{
		Version: stateVersion,
		Serial:  new(big.Int),
		Tokens:  map[string]TokenRecord{},
		Revoked: map[string]time.Time{},
	}
}

func (d *stateData) clone() stateData {
	return stateData{
		Version: d.Version,
		Serial:  new(big.Int).Set(d.Serial),
		Tokens:  maps.Clone(d.Tokens),
		Revoked: maps.Clone(d.Revoked),
		Issued:  slices.Clone(d.Issued),
	}
}

// memState is the concurrency-safe State; with persist set it is the file
// state. Every mutation runs under mu and is persisted before it is
// visible; a failed persist restores the previous data.
type memState struct {
	mu      sync.Mutex
	d       stateData
	persist func(*stateData) error
}

// NewMemState returns an in-memory, concurrency-safe State. It forgets
// everything when the process ends: use it for tests and demos.
func NewMemState() State {
	return &memState{d: newStateData()}
}

// update applies fn and persists the result, or leaves the state untouched.
func (s *memState) update(fn func(d *stateData) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.persist == nil {
		return fn(&s.d)
	}
	backup := s.d.clone()
	if err := fn(&s.d); err != nil {
		s.d = backup
		return err
	}
	if err := s.persist(&s.d); err != nil {
		s.d = backup
		return err
	}
	return nil
}

func (s *memState) PutToken(hash [32]byte, t TokenRecord) error {
	key := hex.EncodeToString(hash[:])
	return s.update(func(d *stateData) error {
		if _, ok := d.Tokens[key]; ok {
			return fmt.Errorf("pki: token hash already stored: %w", ErrInvalid)
		}
		d.Tokens[key] = t
		return nil
	})
}

func (s *memState) ConsumeToken(hash [32]byte, now time.Time) (TokenRecord, error) {
	key := hex.EncodeToString(hash[:])
	var rec TokenRecord
	err := s.update(func(d *stateData) error {
		pruneTokens(d, now)
		t, ok := d.Tokens[key]
		switch {
		case !ok:
			return ErrTokenUnknown
		case t.Used:
			return ErrTokenUsed
		case !now.Before(t.Expires):
			return ErrTokenExpired
		}
		t.Used = true
		d.Tokens[key] = t
		rec = t
		return nil
	})
	return rec, err
}

func pruneTokens(d *stateData, now time.Time) {
	for k, t := range d.Tokens {
		if now.Sub(t.Expires) > TokenRetention {
			delete(d.Tokens, k)
		}
	}
}

func (s *memState) NextSerial() (*big.Int, error) {
	var out *big.Int
	err := s.update(func(d *stateData) error {
		next := new(big.Int).Add(d.Serial, big.NewInt(1))
		d.Serial = next
		out = new(big.Int).Set(next)
		return nil
	})
	return out, err
}

func (s *memState) Revoke(serial *big.Int, at time.Time) error {
	if serial == nil || serial.Sign() <= 0 {
		return fmt.Errorf("serial: %w", ErrInvalid)
	}
	key := serial.Text(16)
	return s.update(func(d *stateData) error {
		if _, ok := d.Revoked[key]; !ok {
			d.Revoked[key] = at.UTC()
		}
		return nil
	})
}

func (s *memState) Revoked(cutoff time.Time) ([]x509.RevocationListEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	expired := map[string]bool{}
	if !cutoff.IsZero() {
		for _, rec := range s.d.Issued {
			if rec.NotAfter.Before(cutoff) {
				expired[rec.Serial] = true
			}
		}
	}
	out := make([]x509.RevocationListEntry, 0, len(s.d.Revoked))
	for k, at := range s.d.Revoked {
		if expired[k] {
			continue
		}
		n, ok := new(big.Int).SetString(k, 16)
		if !ok {
			return nil, fmt.Errorf("pki: stored serial %q: %w", k, ErrInvalid)
		}
		out = append(out, x509.RevocationListEntry{SerialNumber: n, RevocationTime: at})
	}
	slices.SortFunc(out, func(a, b x509.RevocationListEntry) int {
		return a.SerialNumber.Cmp(b.SerialNumber)
	})
	return out, nil
}

func (s *memState) RecordIssued(cert *x509.Certificate) error {
	rec := issuedRecord{
		Serial:   cert.SerialNumber.Text(16),
		LFDI:     LFDI(cert.Raw),
		Subject:  cert.Subject.String(),
		NotAfter: cert.NotAfter.UTC(),
	}
	return s.update(func(d *stateData) error {
		d.Issued = append(d.Issued, rec)
		return nil
	})
}

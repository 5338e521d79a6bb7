package pki

import (
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"math/big"
	"slices"
	"time"
)

// StateSnapshot is the whole content of a CA state file, for moving it into
// another State implementation (comms/pki/dbstate imports it).
type StateSnapshot struct {
	Serial  *big.Int                 // last serial handed out
	Tokens  map[[32]byte]TokenRecord // by SHA-256 of the token
	Revoked []x509.RevocationListEntry
	Issued  []IssuedRecord // in the order they were issued
}

// IssuedRecord is the audit record of one issued certificate.
type IssuedRecord struct {
	Serial   *big.Int
	LFDI     string // of the certificate itself
	Subject  string
	NotAfter time.Time
}

// DecodeStateFile parses the content of a FileState's file, strictly: unknown
// fields, other versions and impossible values are ErrStateFile.
func DecodeStateFile(raw []byte) (StateSnapshot, error) {
	if len(raw) > MaxStateFile {
		return StateSnapshot{}, fmt.Errorf("pki: state file larger than %d bytes: %w", MaxStateFile, ErrStateFile)
	}
	d, err := decodeState(raw)
	if err != nil {
		return StateSnapshot{}, err
	}
	snap := StateSnapshot{Serial: d.Serial, Tokens: make(map[[32]byte]TokenRecord, len(d.Tokens))}
	for k, t := range d.Tokens {
		b, err := hex.DecodeString(k)
		if err != nil || len(b) != 32 {
			return StateSnapshot{}, fmt.Errorf("token hash %.16q: %w", k, ErrStateFile)
		}
		snap.Tokens[[32]byte(b)] = t
	}
	for k, at := range d.Revoked {
		n, _ := new(big.Int).SetString(k, 16) // decodeState checked it
		snap.Revoked = append(snap.Revoked, x509.RevocationListEntry{SerialNumber: n, RevocationTime: at})
	}
	slices.SortFunc(snap.Revoked, func(a, b x509.RevocationListEntry) int { return a.SerialNumber.Cmp(b.SerialNumber) })
	for i, r := range d.Issued {
		n, ok := new(big.Int).SetString(r.Serial, 16)
		if !ok || n.Sign() <= 0 {
			return StateSnapshot{}, fmt.Errorf("issued record %d: serial: %w", i, ErrStateFile)
		}
		snap.Issued = append(snap.Issued, IssuedRecord{Serial: n, LFDI: r.LFDI, Subject: r.Subject, NotAfter: r.NotAfter})
	}
	return snap, nil
}

package pki

import "errors"

// Sentinel errors. Match them with errors.Is; messages never carry key
// material or token values.
var (
	ErrTokenUnknown  = errors.New("pki: unknown enrolment token")
	ErrTokenUsed     = errors.New("pki: enrolment token already used")
	ErrTokenExpired  = errors.New("pki: enrolment token expired")
	ErrBadCSR        = errors.New("pki: bad certificate request")
	ErrUnknownIssuer = errors.New("pki: certificate not issued by the trusted root")
	ErrExpired       = errors.New("pki: certificate expired")
	ErrNotYetValid   = errors.New("pki: certificate not yet valid")
	ErrRevoked       = errors.New("pki: certificate revoked")
	ErrBadCRL        = errors.New("pki: bad revocation list")
	ErrMalformed     = errors.New("pki: malformed certificate")
	ErrRole          = errors.New("pki: missing, unknown or forbidden role")
	// ErrInvalid reports a bad argument: an empty or overlong name, a
	// malformed gateway LFDI, a non-positive duration.
	ErrInvalid = errors.New("pki: invalid parameter")
	// ErrKeyMismatch reports a CA private key that does not match its
	// certificate, or a CA certificate that is not a CA.
	ErrKeyMismatch = errors.New("pki: ca key does not match ca certificate")
	// ErrStateFile reports an unreadable or inconsistent state file.
	ErrStateFile = errors.New("pki: bad state file")
)

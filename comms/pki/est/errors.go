package est

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/usapp/usapp/comms/pki"
)

// Sentinels for conditions that package pki does not name.
var (
	ErrNoClientCert = errors.New("est: no tls client certificate")
	ErrTooLarge     = errors.New("est: request body too large")
	ErrMediaType    = errors.New("est: unsupported media type")
	ErrProtocol     = errors.New("est: unexpected response")
	ErrInternal     = errors.New("est: internal server error")
	ErrNotFound     = errors.New("est: no such certificate")
)

// Error is a rejection as it travels over HTTP: a status, a stable code and
// a public message. It matches (errors.Is) the sentinel its code stands for,
// so a client can write errors.Is(err, pki.ErrTokenUsed).
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("est: %d %s: %s", e.Status, e.Code, e.Message)
}

// Is reports whether target is the sentinel behind e.Code.
func (e *Error) Is(target error) bool {
	for _, c := range codes {
		if c.code == e.Code {
			return c.err == target
		}
	}
	return false
}

// codes is the public contract between server and client: order matters
// only for mapping, the first sentinel matching an error wins.
var codes = []struct {
	err    error
	code   string
	status int
}{
	{pki.ErrTokenUnknown, "token-unknown", http.StatusUnauthorized},
	{pki.ErrTokenUsed, "token-used", http.StatusUnauthorized},
	{pki.ErrTokenExpired, "token-expired", http.StatusUnauthorized},
	{ErrNoClientCert, "no-client-cert", http.StatusUnauthorized},
	{pki.ErrUnknownIssuer, "unknown-issuer", http.StatusUnauthorized},
	{pki.ErrExpired, "cert-expired", http.StatusUnauthorized},
	{pki.ErrNotYetValid, "cert-not-yet-valid", http.StatusUnauthorized},
	{pki.ErrRevoked, "revoked", http.StatusForbidden},
	{pki.ErrRole, "role", http.StatusForbidden},
	{pki.ErrBadCSR, "bad-csr", http.StatusBadRequest},
	{pki.ErrMalformed, "malformed", http.StatusBadRequest},
	{ErrTooLarge, "too-large", http.StatusRequestEntityTooLarge},
	{ErrMediaType, "unsupported-media-type", http.StatusUnsupportedMediaType},
	{ErrNotFound, "not-found", http.StatusNotFound},
	{ErrInternal, "internal", http.StatusInternalServerError},
}

// toHTTP maps an internal error to its public form; anything unknown is an
// internal error whose cause stays in the log.
func toHTTP(err error) *Error {
	if err == nil {
		err = ErrInternal
	}
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return &Error{Status: c.status, Code: c.code, Message: c.err.Error()}
		}
	}
	return toHTTP(ErrInternal)
}

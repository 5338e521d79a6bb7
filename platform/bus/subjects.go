package bus

import (
	"crypto/x509"
	"errors"
	"time"
)

// Subject prefixes of the public contract (see the package doc).
const (
	SubjectPrefix  = "usapp.v1."
	ReadingsPrefix = SubjectPrefix + "readings."
	ReceiptsPrefix = SubjectPrefix + "receipts."
	CommandsPrefix = SubjectPrefix + "commands."
	InboxPrefix    = "_INBOX."

	// ReadingsStream is the JetStream stream that captures ReadingsPrefix+">".
	ReadingsStream = "READINGS"
	// DuplicateWindow is how long the stream remembers a Nats-Msg-Id.
	DuplicateWindow = 2 * time.Minute
)

// Roles a PeerVerifier may report; the role selects the permissions.
const (
	RoleMeter   = "meter"
	RoleGateway = "gateway"
	RoleHeadEnd = "headend"
	RoleCA      = "ca"
	RoleBus     = "bus"
)

// Sentinel errors.
var (
	// ErrPermission: the server refused a publish or subscription.
	ErrPermission = errors.New("bus: permissions violation")
	// ErrBadIdentity: an LFDI that is not one safe subject token.
	ErrBadIdentity = errors.New("bus: identity is not a valid subject token")
	// ErrConfig: a ServerConfig or ClientConfig that cannot work.
	ErrConfig = errors.New("bus: invalid configuration")
	// ErrStart: the embedded server did not come up.
	ErrStart = errors.New("bus: server did not start")
	// ErrConnectionClosed: the connection ended for good without a reason
	// from the server (see Conn.Err).
	ErrConnectionClosed = errors.New("bus: connection closed")
	// ErrCertificateRefused: the server no longer accepts the connection's
	// certificate (revoked, expired, or from another CA); Conn.Err wraps it
	// with nats.ErrAuthorization.
	ErrCertificateRefused = errors.New("bus: the server refuses this certificate")
)

// Identity is who a client certificate names.
type Identity struct {
	LFDI string
	Role string // one of the Role constants
}

// PeerVerifier maps a TLS client certificate to an Identity after checking
// its chain, expiry and revocation at now. It is declared here, implemented by
// comms/pki.
type PeerVerifier interface {
	VerifyPeer(cert *x509.Certificate, now time.Time) (Identity, error)
}

// ReadingSubject is where lfdi's readings are published.
func ReadingSubject(lfdi string) string { return ReadingsPrefix + lfdi }

// ReceiptSubject is where the head-end sends lfdi's receipts.
func ReceiptSubject(lfdi string) string { return ReceiptsPrefix + lfdi }

// CommandSubject is where commands to lfdi are sent.
func CommandSubject(lfdi string) string { return CommandsPrefix + lfdi }

// inbox is the reply prefix owned by lfdi.
func inbox(lfdi string) string { return InboxPrefix + lfdi }

// maxTokenLen bounds an LFDI on a subject; IEEE 2030.5 LFDIs are 40 hex
// characters, the slack admits other identifier schemes.
const maxTokenLen = 64

// ValidToken reports whether id can be put into a subject as one token
// without widening it: no dots, no wildcards, no spaces or control bytes.
func ValidToken(id string) bool {
	if len(id) == 0 || len(id) > maxTokenLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		ok := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
		if !ok {
			return false
		}
	}
	return true
}

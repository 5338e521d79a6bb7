package bus

import (
	"crypto/subtle"
	"crypto/x509"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Refusal reasons, the keys of Server.Refusals.
const (
	RefusedNotClient       = "not-client"       // a route, gateway or leaf asked the client authenticator
	RefusedNoTLS           = "no-tls"           // plain connection (only possible in-process)
	RefusedNoCertificate   = "no-certificate"   // TLS without a client certificate
	RefusedVerify          = "verify-failed"    // PeerVerifier said no: chain, expiry, revocation
	RefusedBadIdentity     = "bad-identity"     // LFDI unusable as a subject token
	RefusedUnknownRole     = "unknown-role"     // role with no permission set
	RefusedPublishDenied   = "publish-denied"   // publish outside the identity's subjects
	RefusedSubscribeDenied = "subscribe-denied" // subscription outside the identity's subjects
	RefusedTLSHandshake    = "tls-handshake"    // untrusted chain, expired certificate, no certificate
	RefusedReverify        = "reverify-failed"  // connected, then closed: its certificate no longer verifies (revoked)
)

// refusals counts refusals by reason.
type refusals struct {
	mu sync.Mutex
	n  map[string]uint64
}

func (r *refusals) add(reason string) {
	r.mu.Lock()
	if r.n == nil {
		r.n = make(map[string]uint64)
	}
	r.n[reason]++
	r.mu.Unlock()
}

func (r *refusals) snapshot() map[string]uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]uint64, len(r.n))
	for k, v := range r.n {
		out[k] = v
	}
	return out
}

// authenticator is the server.Authentication the embedded server runs for
// every client connection.
type authenticator struct {
	verifier PeerVerifier
	now      func() time.Time
	log      *slog.Logger
	refused  *refusals
	peers    *peerCerts // every admitted leaf, for Server.reverify
	// adminToken admits the server's own in-process connection (net.Pipe,
	// no TLS), which it uses to create the streams; it never leaves the
	// process.
	adminToken string
}

var _ server.Authentication = (*authenticator)(nil)

// Check admits a client whose certificate the verifier accepts and registers
// it under its LFDI with the permissions of its role.
func (a *authenticator) Check(c server.ClientAuthentication) bool {
	if c.Kind() != server.CLIENT {
		return a.refuse(c, RefusedNotClient, nil)
	}
	st := c.GetTLSConnectionState()
	if st == nil {
		if a.isAdminPipe(c) {
			c.RegisterUser(&server.User{Username: "usapp-bus-internal"})
			return true
		}
		return a.refuse(c, RefusedNoTLS, nil)
	}
	if len(st.PeerCertificates) == 0 {
		return a.refuse(c, RefusedNoCertificate, nil)
	}
	leaf := st.PeerCertificates[0]
	now := a.now()
	id, perms, reason, err := admit(a.verifier, leaf, now)
	if reason != "" {
		return a.refuse(c, reason, err)
	}
	c.RegisterUser(&server.User{
		Username:    id.LFDI,
		Permissions: perms,
		// The server closes the connection when the certificate expires.
		ConnectionDeadline: time.Now().Add(leaf.NotAfter.Sub(now)),
	})
	a.peers.add(leaf)
	a.log.Debug("bus: identity admitted", "lfdi", id.LFDI, "role", id.Role, "remote", remote(c))
	return true
}

func (a *authenticator) isAdminPipe(c server.ClientAuthentication) bool {
	addr := c.RemoteAddress()
	if addr == nil || addr.Network() != "pipe" || a.adminToken == "" {
		return false
	}
	opts := c.GetOpts()
	return opts != nil && subtle.ConstantTimeCompare([]byte(opts.Token), []byte(a.adminToken)) == 1
}

func (a *authenticator) refuse(c server.ClientAuthentication, reason string, err error) bool {
	logRefusal(a.log, a.refused, reason, remote(c), err)
	return false
}

// logRefusal counts and logs a refused connection, the same way whether the
// embedded server or a Callout refused it.
func logRefusal(log *slog.Logger, r *refusals, reason, remote string, err error, attrs ...any) {
	r.add(reason)
	attrs = append(attrs, slog.String("reason", reason), slog.String("remote", remote))
	if err != nil {
		attrs = append(attrs, slog.Any("err", err))
	}
	log.Warn("bus: connection refused", attrs...)
}

func remote(c server.ClientAuthentication) string {
	if a := c.RemoteAddress(); a != nil {
		return a.String()
	}
	return ""
}

// admit is the decision on a client certificate, the same on the embedded
// server (authenticator) and behind an external one's auth callout
// (Callout): the verifier names the identity, whose LFDI must be usable as a
// subject token and whose role must have a permission set. reason is empty
// when the certificate is admitted, else the Refused* constant, with err
// saying more where there is more to say.
func admit(v PeerVerifier, leaf *x509.Certificate, now time.Time) (id Identity, perms *server.Permissions, reason string, err error) {
	id, err = v.VerifyPeer(leaf, now)
	if err != nil {
		return id, nil, RefusedVerify, err
	}
	if !ValidToken(id.LFDI) {
		return id, nil, RefusedBadIdentity, fmt.Errorf("LFDI %q is not a subject token", id.LFDI)
	}
	perms, ok := permissionsFor(id)
	if !ok {
		return id, nil, RefusedUnknownRole, fmt.Errorf("role %q has no permission set", id.Role)
	}
	return id, perms, "", nil
}

// permissionsFor returns the permission set of id's role; nil permissions
// mean everything (admin roles). ok is false for an unknown role.
func permissionsFor(id Identity) (p *server.Permissions, ok bool) {
	switch id.Role {
	case RoleMeter, RoleGateway:
		return &server.Permissions{
			Publish: &server.SubjectPermission{Allow: []string{ReadingSubject(id.LFDI)}},
			Subscribe: &server.SubjectPermission{Allow: []string{
				ReceiptSubject(id.LFDI), CommandSubject(id.LFDI), inbox(id.LFDI) + ".>",
			}},
		}, true
	case RoleHeadEnd:
		return &server.Permissions{
			Publish:   &server.SubjectPermission{Allow: headEndPublish()},
			Subscribe: &server.SubjectPermission{Allow: []string{inbox(id.LFDI) + ".>"}},
		}, true
	case RoleBus, RoleCA:
		return nil, true
	}
	return nil, false
}

// headEndPublish is the smallest set that lets the head-end ensure the
// streams, run a pull consumer on them (create, fetch, ack, delete) and send
// receipts. Stream deletion, purge and message deletion are not in it.
func headEndPublish() []string {
	allow := []string{ReceiptsPrefix + ">", "$JS.API.INFO"}
	for _, s := range streamNames() {
		allow = append(allow,
			"$JS.API.STREAM.INFO."+s,
			"$JS.API.STREAM.CREATE."+s,
			"$JS.API.STREAM.UPDATE."+s,
			"$JS.API.CONSUMER.CREATE."+s,
			"$JS.API.CONSUMER.CREATE."+s+".>",
			"$JS.API.CONSUMER.DURABLE.CREATE."+s+".>",
			"$JS.API.CONSUMER.INFO."+s+".>",
			"$JS.API.CONSUMER.MSG.NEXT."+s+".>",
			"$JS.API.CONSUMER.DELETE."+s+".>",
			"$JS.API.CONSUMER.NAMES."+s,
			"$JS.API.CONSUMER.LIST."+s,
			"$JS.ACK."+s+".>",
		)
	}
	sort.Strings(allow)
	return allow
}

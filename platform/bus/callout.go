package bus

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
	"github.com/usapp/usapp/framework"
)

// An external NATS server (bus.url) admits any client whose chain it
// verifies, and applies whatever permissions its own configuration says. With
// auth callout (nats-server 2.10 and later) it asks a service instead: it
// sends every new client's details, TLS certificates included, as a JWT it
// signs, on $SYS.REQ.USER.AUTH in the callout account, and admits the client
// only with a user JWT the service signs back with the configured issuer
// key. A Callout is that service for USaPP: it makes the embedded server's
// decision (admit: the verifier for chain, expiry and revocation, then the
// role's subjects) and writes the outcome as a user JWT that places the
// client in the devices' account under its LFDI, with its role's permissions
// and the certificate's NotAfter as the JWT's expiry, at which the server
// closes the connection.
//
// The request is trusted because only a server can publish on the callout
// subject: nats-server denies it to the callout account's own users. The
// answer is bound to one connection by the user key the server drew for it
// and to that server by its ID, so a copy admits no one else.

// CalloutQueue is the queue group every Callout subscribes in, so that
// several head-ends answer each request once between them.
const CalloutQueue = "usapp-callout"

// RefusedBadRequest counts authorization requests a Callout could not read
// (it cannot answer those) or that name another issuer (a misconfiguration:
// it answers with a refusal).
const RefusedBadRequest = "bad-request"

// CalloutConfig configures a Callout.
type CalloutConfig struct {
	// Conn is a connection as one of the server's auth_callout auth_users
	// (DialService), which the server authenticates itself.
	Conn *nats.Conn
	// IssuerSeedFile holds the seed of the account nkey (SA...) whose public
	// key is auth_callout's issuer.
	IssuerSeedFile string
	// Account is the server account clients are placed in (config mode: its
	// name). It must have JetStream enabled for the head-end.
	Account  string
	Verifier PeerVerifier
	Now      func() time.Time // time.Now if nil
	Log      *slog.Logger
}

// Callout answers an external server's authorization requests
// (A3.bus-access-control, A1.revocation). It is safe for concurrent use.
type Callout struct {
	cfg      CalloutConfig
	issuer   jwtIssuer
	sub      *nats.Subscription
	refused  refusals
	admitted atomic.Uint64
}

// StartCallout checks cfg, reads the issuer's seed and starts answering.
func StartCallout(cfg CalloutConfig) (*Callout, error) {
	switch {
	case cfg.Conn == nil:
		return nil, fmt.Errorf("%w: Callout needs a connection as an auth_callout user", ErrConfig)
	case cfg.Verifier == nil:
		return nil, fmt.Errorf("%w: Callout needs a verifier", ErrConfig)
	case cfg.Account == "":
		return nil, fmt.Errorf("%w: Callout needs the devices' account", ErrConfig)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	issuer, err := readAccountSeed(cfg.IssuerSeedFile)
	if err != nil {
		return nil, err
	}
	c := &Callout{cfg: cfg, issuer: issuer}
	c.sub, err = cfg.Conn.QueueSubscribe(server.AuthCalloutSubject, CalloutQueue, c.answer)
	if err != nil {
		return nil, fmt.Errorf("bus: auth callout: %w", err)
	}
	if err := cfg.Conn.Flush(); err != nil {
		c.sub.Unsubscribe()
		return nil, fmt.Errorf("bus: auth callout: %w", err)
	}
	return c, nil
}

// jwtIssuer signs JWTs as an account. nkeys derives the Ed25519 key from
// the seed at every signature and every PublicKey call, which was half of a
// Callout's work per answer (BenchmarkCalloutAnswer); this derives it once.
type jwtIssuer struct {
	pub  string
	kp   nkeys.KeyPair // public key only: what the jwt package reads the issuer from
	priv ed25519.PrivateKey
}

// encode signs claims (a user JWT or an authorization response).
func (i jwtIssuer) encode(claims interface {
	EncodeWithSigner(nkeys.KeyPair, jwt.SignFn) (string, error)
}) (string, error) {
	return claims.EncodeWithSigner(i.kp, func(_ string, data []byte) ([]byte, error) {
		return ed25519.Sign(i.priv, data), nil
	})
}

// readAccountSeed reads an account nkey's seed from file.
func readAccountSeed(file string) (jwtIssuer, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return jwtIssuer{}, fmt.Errorf("%w: auth callout issuer: %w", ErrConfig, err)
	}
	defer clear(data)
	prefix, raw, err := nkeys.DecodeSeed(bytes.TrimSpace(data))
	if err != nil {
		return jwtIssuer{}, fmt.Errorf("%w: auth callout issuer %s: %w", ErrConfig, file, err)
	}
	defer clear(raw)
	if prefix != nkeys.PrefixByteAccount {
		return jwtIssuer{}, fmt.Errorf("%w: auth callout issuer %s: not an account seed (SA...)", ErrConfig, file)
	}
	priv := ed25519.NewKeyFromSeed(raw)
	pub, err := nkeys.Encode(nkeys.PrefixByteAccount, priv.Public().(ed25519.PublicKey))
	if err != nil {
		return jwtIssuer{}, err
	}
	kp, err := nkeys.FromPublicKey(string(pub))
	if err != nil {
		return jwtIssuer{}, err
	}
	return jwtIssuer{pub: string(pub), kp: kp, priv: priv}, nil
}

// Issuer is the public key the server's auth_callout must name as issuer.
func (c *Callout) Issuer() string { return c.issuer.pub }

// Admitted counts the clients the Callout admitted.
func (c *Callout) Admitted() uint64 { return c.admitted.Load() }

// Refusals counts refused clients, and unreadable requests, by reason.
func (c *Callout) Refusals() map[string]uint64 { return c.refused.snapshot() }

// Stop stops answering; the server then refuses new clients once its
// authorization timeout passes, unless another head-end answers.
func (c *Callout) Stop() error { return c.sub.Unsubscribe() }

// answer handles one authorization request.
func (c *Callout) answer(m *nats.Msg) {
	req, err := c.readRequest(m)
	if err != nil {
		c.refused.add(RefusedBadRequest)
		c.cfg.Log.Error("bus: auth callout request unanswerable", "err", err)
		return
	}
	claims := jwt.NewAuthorizationResponseClaims(req.UserNkey)
	claims.Audience = req.Server.ID
	if req.Subject != c.issuer.pub {
		// Answered all the same, so that the server refuses the client now
		// (it cannot verify this signature) rather than at its timeout.
		c.refused.add(RefusedBadRequest)
		c.cfg.Log.Error("bus: auth callout issuer mismatch: the server's auth_callout names another issuer",
			"server_issuer", req.Subject, "ours", c.issuer.pub, "server", req.Server.Name)
		claims.Error = RefusedBadRequest
		c.respond(m, claims)
		return
	}
	user, reason, err := c.decide(req)
	if reason != "" {
		logRefusal(c.cfg.Log, &c.refused, reason, req.ClientInformation.Host, err, slog.String("server", req.Server.Name))
		claims.Error = reason
	} else {
		claims.Jwt = user
	}
	c.respond(m, claims)
}

func (c *Callout) respond(m *nats.Msg, claims *jwt.AuthorizationResponseClaims) {
	token, err := c.issuer.encode(claims)
	if err != nil {
		c.cfg.Log.Error("bus: auth callout answer", "err", err)
		return
	}
	if err := m.Respond([]byte(token)); err != nil {
		c.cfg.Log.Warn("bus: auth callout answer not sent", "err", err)
	}
}

// readRequest decodes a request and checks that it is one this Callout can
// answer: signed by a server, for a connection's user key.
func (c *Callout) readRequest(m *nats.Msg) (*jwt.AuthorizationRequestClaims, error) {
	if m.Reply == "" {
		return nil, errors.New("no reply subject")
	}
	if m.Header.Get(server.AuthRequestXKeyHeader) != "" {
		return nil, errors.New("the request is encrypted: remove xkey from the server's auth_callout")
	}
	req, err := jwt.DecodeAuthorizationRequestClaims(string(m.Data))
	if err != nil {
		return nil, fmt.Errorf("decoding: %w", err)
	}
	// Errors only, not the request's expiry (the server's authorization
	// timeout): a head-end clock a few seconds ahead would refuse every
	// client, and a replayed request gains nothing, as its answer is for a
	// user key whose connection the server has already settled.
	vr := jwt.CreateValidationResults()
	req.Validate(vr)
	if errs := vr.Errors(); len(errs) > 0 {
		return nil, fmt.Errorf("invalid: %w", errs[0])
	}
	if !nkeys.IsValidPublicServerKey(req.Server.ID) {
		return nil, fmt.Errorf("server ID %q is not a server key", req.Server.ID)
	}
	return req, nil
}

// decide returns the signed user JWT for an admitted client, or the refusal
// reason.
func (c *Callout) decide(req *jwt.AuthorizationRequestClaims) (user, reason string, err error) {
	if req.ClientInformation.Kind != "Client" {
		return "", RefusedNotClient, fmt.Errorf("connection kind %q", req.ClientInformation.Kind)
	}
	leaf, reason, err := clientCertificate(req.TLS)
	if reason != "" {
		return "", reason, err
	}
	id, perms, reason, err := admit(c.cfg.Verifier, leaf, c.cfg.Now())
	if reason != "" {
		return "", reason, err
	}
	uc := jwt.NewUserClaims(req.UserNkey)
	uc.Name = id.LFDI
	uc.Audience = c.cfg.Account
	uc.Expires = leaf.NotAfter.Unix()
	uc.AllowedConnectionTypes.Add(jwt.ConnectionTypeStandard)
	uc.Permissions = jwtPermissions(perms)
	user, err = c.issuer.encode(uc)
	if err != nil {
		return "", "", fmt.Errorf("bus: auth callout user JWT: %w", err)
	}
	c.admitted.Add(1)
	c.cfg.Log.Debug("bus: identity admitted", "lfdi", id.LFDI, "role", id.Role, "remote", req.ClientInformation.Host)
	return user, "", nil
}

// clientCertificate is the client's leaf certificate: the first of the chain
// the server verified, or of those it was given if it verified none.
func clientCertificate(t *jwt.ClientTLS) (*x509.Certificate, string, error) {
	if t == nil {
		return nil, RefusedNoTLS, nil
	}
	var leaf string
	switch {
	case len(t.VerifiedChains) > 0 && len(t.VerifiedChains[0]) > 0:
		leaf = t.VerifiedChains[0][0]
	case len(t.Certs) > 0:
		leaf = t.Certs[0]
	default:
		return nil, RefusedNoCertificate, nil
	}
	blk, _ := pem.Decode([]byte(leaf))
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, RefusedNoCertificate, errors.New("the request's certificate is not PEM")
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, RefusedNoCertificate, err
	}
	return cert, "", nil
}

// jwtPermissions writes a permission set as a user JWT's; nil, which admits
// everything, stays empty, which does too.
func jwtPermissions(p *server.Permissions) jwt.Permissions {
	var out jwt.Permissions
	if p == nil {
		return out
	}
	if p.Publish != nil {
		out.Pub.Allow.Add(p.Publish.Allow...)
		out.Pub.Deny.Add(p.Publish.Deny...)
	}
	if p.Subscribe != nil {
		out.Sub.Allow.Add(p.Subscribe.Allow...)
		out.Sub.Deny.Add(p.Subscribe.Deny...)
	}
	return out
}

// Controls reports A3.bus-access-control as a Callout enforces it on an
// external server. Closing connections revoked later is an Evictor's work,
// which the caller reports as reverify_every.
func (c *Callout) Controls() []framework.Active {
	return []framework.Active{{ID: framework.BusAccessControl, Params: map[string]string{
		"authentication": "the external server's mutual TLS; chain, expiry and CRL checked at connection by the head-end's auth callout",
		"subjects":       "each identity its own (" + ReadingsPrefix + "<LFDI> ...)",
		"account":        c.cfg.Account,
	}}}
}

package bus

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// DefaultReverifyEvery is how often, by default, the server checks the
// certificates of its connected clients again.
const DefaultReverifyEvery = 30 * time.Second

// Revisioned is a PeerVerifier that can tell when its answers may have
// changed (pki.Verifier.Revision: the revoked set moved). The server then
// checks its connected clients again only after a change, instead of at every
// tick: with a fleet larger than the verifier's signature cache, each pass
// would cost a signature verification for every client evicted since the
// last.
type Revisioned interface {
	Revision() uint64
}

// peerCerts keeps the leaf certificate of every admitted connection, keyed
// as nats-server's connection list reports it (hex SHA-256 of the DER), so
// that a connection can be checked again after it was admitted. The
// authenticator is not told which connection it admits, so the link is the
// certificate itself.
type peerCerts struct {
	mu    sync.Mutex
	certs map[string]peerCert
}

type peerCert struct {
	cert       *x509.Certificate
	admittedAt time.Time
}

// CertDigest is how the bus names a client's certificate: the lower-case hex
// SHA-256 of its DER, as nats-server's connection list reports it
// (tls_peer_certs[].cert_sha256). It links an admitted certificate to its
// connection here, and a revoked certificate to its connection on an
// external server (EvictorConfig.Revoked).
func CertDigest(c *x509.Certificate) string {
	h := sha256.Sum256(c.Raw)
	return hex.EncodeToString(h[:])
}

func (p *peerCerts) add(c *x509.Certificate) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.certs == nil {
		p.certs = make(map[string]peerCert)
	}
	p.certs[CertDigest(c)] = peerCert{cert: c, admittedAt: time.Now()}
}

func (p *peerCerts) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.certs)
}

func (p *peerCerts) get(key string) *x509.Certificate {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.certs[key].cert
}

// prune forgets the certificates of connections that have gone: those
// admitted before listedAt and not listed in the connection list taken then.
func (p *peerCerts) prune(listed func(key string) bool, listedAt time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, pc := range p.certs {
		if pc.admittedAt.Before(listedAt) && !listed(k) {
			delete(p.certs, k)
		}
	}
}

// reverifyLoop checks the connected clients every period until stop closes.
func (s *Server) reverifyLoop(period time.Duration, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(period)
	defer t.Stop()
	// Every client was checked at connection against what the verifier
	// knew then; with a Revisioned verifier, passes are due only once that
	// has moved. The revision is read before a pass, so a change during a
	// pass earns more. Each change earns two passes, a period apart: a
	// client whose check read the verifier just before the change may not
	// be in the first pass's list yet.
	rv, gated := s.verifier.(Revisioned)
	var last uint64
	if gated {
		last = rv.Revision()
	}
	due := 0
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		if !gated {
			s.Reverify()
			continue
		}
		if rev := rv.Revision(); rev != last {
			last, due = rev, 2
		}
		if due == 0 {
			s.forgetClosedIfMany()
			continue
		}
		if s.Reverify() == nil {
			due--
		}
	}
}

// forgetClosedIfMany forgets the certificates of closed connections once
// they are most of what is kept. A pass of Reverify does that too, but with
// a Revisioned verifier passes come only with revocations, and between them
// every reconnection with a new certificate (a renewal, a new device) would
// add one for good.
func (s *Server) forgetClosedIfMany() {
	if !tooMany(s.peers.len(), s.ns.NumClients(), int(s.keepSlack.Load())) {
		return
	}
	conns, listedAt, err := s.listOpen()
	if err != nil {
		return
	}
	open := make(map[string]bool, len(conns))
	for _, ci := range conns {
		if len(ci.TLSPeerCerts) > 0 {
			open[ci.TLSPeerCerts[0].CertSha256] = true
		}
	}
	s.peers.prune(func(key string) bool { return open[key] }, listedAt)
}

// keepSlack is how many more certificates than twice the open connections
// are kept before closed ones are forgotten.
const keepSlack = 1024

// tooMany reports whether kept certificates so outnumber open connections
// that listing the connections to forget the rest is worth its cost.
func tooMany(kept, open, slack int) bool { return kept > 2*open+slack }

// listOpen lists the open client connections, with their certificates'
// digests, and the time just before the list was taken. One list, not
// pages: a page's offset would skip connections when earlier ones close in
// between; connections opened after the count are checked by the
// authenticator itself.
func (s *Server) listOpen() ([]*server.ConnInfo, time.Time, error) {
	listedAt := time.Now()
	cz, err := s.ns.Connz(&server.ConnzOptions{Username: true, State: server.ConnOpen, Limit: s.ns.NumClients() + 64})
	if err != nil {
		s.log.Warn("bus: listing connections failed", "err", err)
		return nil, listedAt, err
	}
	return cz.Conns, listedAt, nil
}

// Reverify checks the certificate of every open client connection again and
// closes those the verifier no longer admits: a certificate revoked since
// the client connected (A3.bus-access-control, A1.revocation). Each closure
// is counted under RefusedReverify and logged; the client's reconnections
// are refused by the authenticator like any other. The server calls it every
// ServerConfig.ReverifyEvery; a caller that has just installed a new CRL may
// call it at once. It fails only if the server cannot list its connections.
func (s *Server) Reverify() error {
	conns, listedAt, err := s.listOpen()
	if err != nil {
		return err
	}
	now := s.now()
	verdict := make(map[string]error, len(conns)) // by certificate: a device may hold several connections
	for _, ci := range conns {
		if len(ci.TLSPeerCerts) == 0 {
			continue // the server's own pipe, or a handshake the authenticator has yet to check
		}
		key := ci.TLSPeerCerts[0].CertSha256
		err, done := verdict[key]
		if !done {
			if cert := s.peers.get(key); cert != nil {
				_, err = s.verifier.VerifyPeer(cert, now)
			}
			verdict[key] = err
		}
		if err != nil {
			s.closeClient(ci, err)
		}
	}
	s.peers.prune(func(key string) bool { _, ok := verdict[key]; return ok }, listedAt)
	return nil
}

func (s *Server) closeClient(ci *server.ConnInfo, err error) {
	if kerr := s.ns.DisconnectClientByID(ci.Cid); kerr != nil {
		return // gone already
	}
	s.refused.add(RefusedReverify)
	s.log.Warn("bus: connection closed: its certificate no longer verifies",
		slog.String("lfdi", ci.AuthorizedUser), slog.String("remote", ci.IP), slog.Any("err", err))
}

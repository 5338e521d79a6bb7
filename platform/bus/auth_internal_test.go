package bus

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// fakeClient is the connection side of nats-server's authentication hook,
// for the refusal paths the network tests cannot reach (plain in-process
// connections, non-client kinds).
type fakeClient struct {
	kind  int
	tls   *tls.ConnectionState
	addr  net.Addr
	token string
	user  *server.User
}

func (f *fakeClient) GetOpts() *server.ClientOpts                 { return &server.ClientOpts{Token: f.token} }
func (f *fakeClient) GetTLSConnectionState() *tls.ConnectionState { return f.tls }
func (f *fakeClient) RegisterUser(u *server.User)                 { f.user = u }
func (f *fakeClient) RemoteAddress() net.Addr                     { return f.addr }
func (f *fakeClient) GetNonce() []byte                            { return nil }
func (f *fakeClient) Kind() int                                   { return f.kind }
func (f *fakeClient) GetID() uint64                               { return 1 }

type verifierFunc func(*x509.Certificate, time.Time) (Identity, error)

func (v verifierFunc) VerifyPeer(c *x509.Certificate, now time.Time) (Identity, error) {
	return v(c, now)
}

func TestCheckRefusals(t *testing.T) {
	pipe, _ := net.Pipe()
	defer pipe.Close()
	tcp := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4222}
	leaf := &x509.Certificate{NotAfter: time.Now().Add(time.Hour)}
	withCert := &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}}
	verified := func(id Identity, err error) PeerVerifier {
		return verifierFunc(func(*x509.Certificate, time.Time) (Identity, error) { return id, err })
	}
	ok := verified(Identity{LFDI: lfdiA, Role: RoleMeter}, nil)
	cases := []struct {
		name   string
		c      *fakeClient
		v      PeerVerifier
		reason string // "" = admitted
	}{
		{"route", &fakeClient{kind: server.ROUTER, tls: withCert, addr: tcp}, ok, RefusedNotClient},
		{"plain tcp", &fakeClient{kind: server.CLIENT, addr: tcp, token: "secret"}, ok, RefusedNoTLS},
		{"pipe wrong token", &fakeClient{kind: server.CLIENT, addr: pipe.RemoteAddr(), token: "guess"}, ok, RefusedNoTLS},
		{"pipe no token", &fakeClient{kind: server.CLIENT, addr: pipe.RemoteAddr()}, ok, RefusedNoTLS},
		{"pipe admin", &fakeClient{kind: server.CLIENT, addr: pipe.RemoteAddr(), token: "secret"}, ok, ""},
		{"no cert", &fakeClient{kind: server.CLIENT, tls: &tls.ConnectionState{}, addr: tcp}, ok, RefusedNoCertificate},
		{"verifier says no", &fakeClient{kind: server.CLIENT, tls: withCert, addr: tcp}, verified(Identity{}, errors.New("revoked")), RefusedVerify},
		{"wildcard lfdi", &fakeClient{kind: server.CLIENT, tls: withCert, addr: tcp}, verified(Identity{LFDI: "*", Role: RoleMeter}, nil), RefusedBadIdentity},
		{"dotted lfdi", &fakeClient{kind: server.CLIENT, tls: withCert, addr: tcp}, verified(Identity{LFDI: "A.B", Role: RoleMeter}, nil), RefusedBadIdentity},
		{"unknown role", &fakeClient{kind: server.CLIENT, tls: withCert, addr: tcp}, verified(Identity{LFDI: lfdiA, Role: "root"}, nil), RefusedUnknownRole},
		{"meter", &fakeClient{kind: server.CLIENT, tls: withCert, addr: tcp}, ok, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &refusals{}
			a := &authenticator{verifier: tc.v, now: time.Now, log: slog.New(slog.DiscardHandler), refused: r, peers: &peerCerts{}, adminToken: "secret"}
			admitted := a.Check(tc.c)
			if admitted != (tc.reason == "") {
				t.Fatalf("admitted = %v, want reason %q", admitted, tc.reason)
			}
			if tc.reason != "" {
				if got := r.snapshot(); got[tc.reason] != 1 || len(got) != 1 || tc.c.user != nil {
					t.Fatalf("refusals %v, user %v", got, tc.c.user)
				}
				return
			}
			if tc.c.user == nil {
				t.Fatal("admitted without registering a user")
			}
		})
	}
}

func TestCheckRegistersLFDIWithExpiry(t *testing.T) {
	notAfter := time.Now().Add(time.Hour)
	leaf := &x509.Certificate{NotAfter: notAfter}
	c := &fakeClient{kind: server.CLIENT, tls: &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}}, addr: &net.TCPAddr{}}
	a := &authenticator{
		verifier: verifierFunc(func(*x509.Certificate, time.Time) (Identity, error) {
			return Identity{LFDI: lfdiA, Role: RoleGateway}, nil
		}),
		now: time.Now, log: slog.New(slog.DiscardHandler), refused: &refusals{}, peers: &peerCerts{},
	}
	if !a.Check(c) {
		t.Fatal("refused")
	}
	if a.peers.get(CertDigest(leaf)) != leaf {
		t.Fatal("admitted certificate not kept for checking it again")
	}
	if c.user.Username != lfdiA || c.user.Permissions == nil || c.user.Permissions.Publish.Allow[0] != ReadingSubject(lfdiA) {
		t.Fatalf("user %+v", c.user)
	}
	if d := c.user.ConnectionDeadline.Sub(notAfter); d < -time.Second || d > time.Second {
		t.Fatalf("deadline %v, certificate expires %v", c.user.ConnectionDeadline, notAfter)
	}
}

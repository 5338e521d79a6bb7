package bus

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// calloutFixture is a Callout that has not subscribed anywhere, a server key
// to sign requests with, and the one certificate its verifier admits.
type calloutFixture struct {
	c      *Callout
	server nkeys.KeyPair
	leaf   *x509.Certificate
	pem    string
}

func newCalloutFixture(t testing.TB) *calloutFixture {
	t.Helper()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "meter"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour).Truncate(time.Second)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	account, _ := nkeys.CreateAccount()
	seed, _ := account.Seed()
	seedFile := filepath.Join(t.TempDir(), "issuer.nk")
	if err := os.WriteFile(seedFile, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	issuer, err := readAccountSeed(seedFile)
	if err != nil {
		t.Fatal(err)
	}
	if pub, _ := account.PublicKey(); issuer.pub != pub {
		t.Fatalf("issuer %s read from the seed of %s", issuer.pub, pub)
	}
	srv, _ := nkeys.CreateServer()
	v := verifierFunc(func(c *x509.Certificate, _ time.Time) (Identity, error) {
		if !bytes.Equal(c.Raw, der) {
			return Identity{}, errors.New("unknown certificate")
		}
		return Identity{LFDI: lfdiA, Role: RoleMeter}, nil
	})
	return &calloutFixture{
		c:      &Callout{cfg: CalloutConfig{Account: "USAPP", Verifier: v, Now: time.Now, Log: slog.New(slog.DiscardHandler)}, issuer: issuer},
		server: srv, leaf: leaf,
		pem: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
	}
}

// request is a server's signed authorization request for a client with tls.
func (f *calloutFixture) request(t testing.TB, kind string, tls *jwt.ClientTLS) *nats.Msg {
	t.Helper()
	user, _ := nkeys.CreateUser()
	upub, _ := user.PublicKey()
	spub, _ := f.server.PublicKey()
	req := jwt.NewAuthorizationRequestClaims(f.c.issuer.pub)
	req.UserNkey = upub
	req.Server = jwt.ServerID{Name: "external", ID: spub}
	req.ClientInformation = jwt.ClientInformation{Host: "127.0.0.1", Kind: kind}
	req.TLS = tls
	token, err := req.Encode(f.server)
	if err != nil {
		t.Fatal(err)
	}
	return &nats.Msg{Subject: server.AuthCalloutSubject, Reply: "_INBOX.reply", Data: []byte(token)}
}

func TestCalloutDecide(t *testing.T) {
	f := newCalloutFixture(t)
	cases := []struct {
		name   string
		kind   string
		tls    *jwt.ClientTLS
		reason string
	}{
		{"verified chain", "Client", &jwt.ClientTLS{VerifiedChains: []jwt.StringList{{f.pem}}}, ""},
		{"unverified certificates", "Client", &jwt.ClientTLS{Certs: jwt.StringList{f.pem}}, ""},
		{"leaf node", "Leafnode", &jwt.ClientTLS{Certs: jwt.StringList{f.pem}}, RefusedNotClient},
		{"no TLS", "Client", nil, RefusedNoTLS},
		{"no certificate", "Client", &jwt.ClientTLS{Version: "1.3"}, RefusedNoCertificate},
		{"not PEM", "Client", &jwt.ClientTLS{Certs: jwt.StringList{"MIIB"}}, RefusedNoCertificate},
		{"PEM of a key", "Client", &jwt.ClientTLS{Certs: jwt.StringList{
			string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: f.leaf.Raw}))}}, RefusedNoCertificate},
		{"not DER", "Client", &jwt.ClientTLS{Certs: jwt.StringList{
			string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")}))}}, RefusedNoCertificate},
		{"another certificate", "Client", &jwt.ClientTLS{Certs: jwt.StringList{newCalloutFixture(t).pem}}, RefusedVerify},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := f.c.readRequest(f.request(t, tc.kind, tc.tls))
			if err != nil {
				t.Fatal(err)
			}
			user, reason, _ := f.c.decide(req)
			if reason != tc.reason {
				t.Fatalf("reason %q, want %q", reason, tc.reason)
			}
			if reason != "" {
				if user != "" {
					t.Fatal("a refusal came with a user JWT")
				}
				return
			}
			uc, err := jwt.DecodeUserClaims(user)
			if err != nil {
				t.Fatal(err)
			}
			want := jwtPermissions(mustPermissions(t, Identity{LFDI: lfdiA, Role: RoleMeter}))
			switch {
			case uc.Subject != req.UserNkey || uc.Issuer != f.c.issuer.pub:
				t.Fatalf("user JWT for %s by %s, want %s by %s", uc.Subject, uc.Issuer, req.UserNkey, f.c.issuer.pub)
			case uc.Name != lfdiA || uc.Audience != "USAPP":
				t.Fatalf("user %q in %q, want %q in USAPP", uc.Name, uc.Audience, lfdiA)
			case uc.Expires != f.leaf.NotAfter.Unix():
				t.Fatalf("expires %d, want the certificate's NotAfter %d", uc.Expires, f.leaf.NotAfter.Unix())
			case !slices.Equal(uc.Pub.Allow, want.Pub.Allow) || !slices.Equal(uc.Sub.Allow, want.Sub.Allow):
				t.Fatalf("permissions %+v, want %+v", uc.Permissions, want)
			case !slices.Equal(uc.AllowedConnectionTypes, jwt.StringList{jwt.ConnectionTypeStandard}):
				t.Fatalf("connection types %v, want STANDARD only", uc.AllowedConnectionTypes)
			}
		})
	}
}

func mustPermissions(t testing.TB, id Identity) *server.Permissions {
	t.Helper()
	p, ok := permissionsFor(id)
	if !ok || p == nil {
		t.Fatalf("no permissions for %+v", id)
	}
	return p
}

func TestCalloutUnanswerableRequests(t *testing.T) {
	f := newCalloutFixture(t)
	good := f.request(t, "Client", &jwt.ClientTLS{Certs: jwt.StringList{f.pem}})
	account, _ := nkeys.CreateAccount()
	req, _ := jwt.DecodeAuthorizationRequestClaims(string(good.Data))
	byAccount, _ := req.Encode(account)
	noUser := *req
	noUser.UserNkey = ""
	unsignedUser, _ := noUser.Encode(f.server)
	badServerID := *req
	badServerID.Server.ID = "server-1"
	badID, _ := badServerID.Encode(f.server)
	tampered := bytes.Clone(good.Data)
	tampered[len(tampered)-5] ^= 1

	cases := map[string]*nats.Msg{
		"garbage":             {Reply: "r", Data: []byte("not a JWT")},
		"no reply subject":    {Data: good.Data},
		"signed by account":   {Reply: "r", Data: []byte(byAccount)},
		"no user key":         {Reply: "r", Data: []byte(unsignedUser)},
		"server ID not a key": {Reply: "r", Data: []byte(badID)},
		"bad signature":       {Reply: "r", Data: tampered},
		"encrypted":           {Reply: "r", Data: good.Data, Header: nats.Header{server.AuthRequestXKeyHeader: {"X..."}}},
	}
	for name, m := range cases {
		if _, err := f.c.readRequest(m); err == nil {
			t.Errorf("%s: read as a request", name)
		}
	}
	if _, err := f.c.readRequest(good); err != nil {
		t.Fatalf("good request: %v", err)
	}
}

// FuzzCalloutRequest feeds the Callout arbitrary request bytes: it must not
// panic, and it admits only a request a server signed for the one
// certificate its verifier knows.
func FuzzCalloutRequest(f *testing.F) {
	fx := newCalloutFixture(f)
	f.Add(fx.request(f, "Client", &jwt.ClientTLS{Certs: jwt.StringList{fx.pem}}).Data)
	f.Add(fx.request(f, "Client", nil).Data)
	f.Add([]byte("eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.e30.AA"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := fx.c.readRequest(&nats.Msg{Reply: "r", Data: data})
		if err != nil {
			return
		}
		user, reason, _ := fx.c.decide(req)
		if reason != "" {
			return
		}
		if !nkeys.IsValidPublicServerKey(req.Issuer) {
			t.Fatalf("admitted a request issued by %q", req.Issuer)
		}
		leaf, _, _ := clientCertificate(req.TLS)
		if leaf == nil || !bytes.Equal(leaf.Raw, fx.leaf.Raw) || user == "" {
			t.Fatal("admitted a request without the known certificate")
		}
	})
}

// BenchmarkCalloutAnswer measures the Callout's own work per request, which
// it does one request at a time: decode and check the server's JWT, parse
// the certificate, verify (here a stub, so that only the Callout's part
// counts), and sign the user JWT and the answer.
func BenchmarkCalloutAnswer(b *testing.B) {
	f := newCalloutFixture(b)
	m := f.request(b, "Client", &jwt.ClientTLS{VerifiedChains: []jwt.StringList{{f.pem}}})
	for b.Loop() {
		req, err := f.c.readRequest(m)
		if err != nil {
			b.Fatal(err)
		}
		user, reason, err := f.c.decide(req)
		if reason != "" || err != nil {
			b.Fatal(reason, err)
		}
		claims := jwt.NewAuthorizationResponseClaims(req.UserNkey)
		claims.Audience, claims.Jwt = req.Server.ID, user
		if _, err := f.c.issuer.encode(claims); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "answers/s")
}

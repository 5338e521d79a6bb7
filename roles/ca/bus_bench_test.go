package ca

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/platform/bus"
	"github.com/usapp/usapp/platform/bus/bustest"
)

// BenchmarkBusReverify measures one pass of bus.Server.Reverify as a
// head-end with the embedded CA runs it after a revocation: the embedded bus
// with this package's BusVerifier over comms/pki's Verifier (whose signature
// cache the connections have warmed), one connection per gateway. Compare
// platform/bus's BenchmarkReverify, whose test verifier checks an ECDSA
// signature every time.
//
//	go test ./roles/ca -run xxx -bench BusReverify -benchtime 20x
func BenchmarkBusReverify(b *testing.B) {
	for _, n := range []int{1000} {
		b.Run(fmt.Sprintf("gateways=%d", n), func(b *testing.B) {
			bustest.BenchReverify(b, busWithGateways(b, n), n)
		})
	}
}

// busWithGateways starts an embedded bus that checks clients with a pki
// Verifier, and connects n gateways with certificates from that CA.
func busWithGateways(b *testing.B, n int) *bus.Server {
	now := time.Now()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	c, err := pki.NewCA("bench CA", key, pki.NewMemState(), now.Add(-time.Hour), 24*time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(c.Certificate())
	_, busKey, _ := ed25519.GenerateKey(rand.Reader)
	busCert, err := c.IssueServer(pki.RoleBus, "bus", []string{"127.0.0.1"}, busKey.Public(), now)
	if err != nil {
		b.Fatal(err)
	}
	v := pki.NewVerifier(c.Certificate())
	quiet := slog.New(slog.DiscardHandler)
	srv, err := bus.StartServer(bus.ServerConfig{Dir: b.TempDir(), ReverifyEvery: -1, Verifier: BusVerifier(v), Log: quiet,
		TLS: &tls.Config{MinVersion: tls.VersionTLS13, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert,
			Certificates: []tls.Certificate{{Certificate: [][]byte{busCert.Raw}, PrivateKey: busKey, Leaf: busCert}}}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Shutdown)
	for i := range n {
		_, gwKey, _ := ed25519.GenerateKey(rand.Reader)
		cert, err := c.Issue(pki.RoleGateway, fmt.Sprintf("gw-%d", i), "", gwKey.Public(), now)
		if err != nil {
			b.Fatal(err)
		}
		id, err := v.Verify(cert, now)
		if err != nil {
			b.Fatal(err)
		}
		conn, err := bus.Connect(context.Background(), bus.ClientConfig{URL: srv.ClientURL(), Identity: id.LFDI, Log: quiet,
			TLS: &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool,
				Certificates: []tls.Certificate{{Certificate: [][]byte{cert.Raw}, PrivateKey: gwKey, Leaf: cert}}}})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(conn.Close)
	}
	return srv
}

package daemon

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/internal/testnet"
	"github.com/usapp/usapp/roles/ca"
	"github.com/usapp/usapp/roles/gateway"
	"github.com/usapp/usapp/roles/headend"
)

// A head-end whose services hold short-lived certificates
// (ca.service_validity) renews them while it runs: its own, keeping its
// identity (the LFDI gateways check its notices against), its bus's and its
// CA's HTTPS certificate. The renewed ones are what it serves from then on,
// readings keep being accepted across the renewal, and a gateway started
// afterwards, which meets all three at once, meters with nothing rejected.
func TestRunningHeadEndRenewsItsServices(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for certificates to enter their last fifth (about 15 s)")
	}
	run := runHeadEndAndGateway(t, ", service_validity: 90s", `  name: home-5
  meters: 1
  interval: 250ms
`)
	root, err := ca.ReadCertificate(run.gw.CA.RootFile)
	if err != nil {
		t.Fatal(err)
	}
	headPath := filepath.Join(run.heDir, "headend.pem")
	firstHead := readCert(t, headPath)
	caAddr := strings.TrimPrefix(run.gw.CA.URL, "https://")
	busURL, err := url.Parse(run.gw.Bus.URL)
	if err != nil {
		t.Fatal(err)
	}
	firstCA, firstBus := servedCert(t, caAddr, root, false), servedCert(t, busURL.Host, root, true)

	waitRenewed(t, run, "headend", "bus")
	var at gateway.Stats
	if err := getJSON("http://"+run.gwHTTP+"/stats", &at); err != nil {
		t.Fatal(err)
	}

	head := readCert(t, headPath)
	renewedFrom(t, "head-end", head, firstHead)
	was, _ := pki.IdentityOf(firstHead)
	if id, err := pki.IdentityOf(head); err != nil || id.LFDI != was.LFDI {
		t.Fatalf("head-end identity %s after its renewal, %s before: %v", id.LFDI, was.LFDI, err)
	}
	var b HeadEndBundle
	if err := getJSON("http://"+run.heHTTP+"/usapp/v1/headend", &b); err != nil {
		t.Fatal(err)
	}
	if string(b.Cert) != string(head.Raw) {
		t.Fatal("the head-end's bundle does not carry its renewed certificate")
	}
	renewedFrom(t, "bus", servedCert(t, busURL.Host, root, true), firstBus)
	renewedFrom(t, "CA", servedCert(t, caAddr, root, false), firstCA)
	if !logged(run.logs.String(), "certificate renewed", "ca") {
		t.Fatal("the CA's renewal is not in the log")
	}

	// Readings flow across the renewal, and a gateway started now, which
	// enrols nothing but fetches the bundle, reaches the bus and the CA
	// through their renewed certificates, meters too.
	testnet.Eventually(t, 20*time.Second, 100*time.Millisecond, func() error {
		var now gateway.Stats
		if err := getJSON("http://"+run.gwHTTP+"/stats", &now); err != nil {
			return err
		}
		if now.Accepted < at.Sent+4 {
			return fmt.Errorf("accepted %d, want %d", now.Accepted, at.Sent+4)
		}
		return nil
	})
	run.stopGW()
	runDaemon(t, RunGateway, run.gw, slog.New(slog.NewJSONHandler(run.logs, nil)))
	testnet.Eventually(t, 20*time.Second, 100*time.Millisecond, func() error {
		var now gateway.Stats
		if err := getJSON("http://"+run.gwHTTP+"/stats", &now); err != nil {
			return err
		}
		if now.Accepted < 4 {
			return fmt.Errorf("restarted gateway: accepted %d", now.Accepted)
		}
		if now.Rejected != 0 || now.Mismatches != 0 {
			return fmt.Errorf("restarted gateway: %+v", now)
		}
		return nil
	})
	var he headend.Stats
	if err := getJSON("http://"+run.heHTTP+"/stats", &he); err != nil {
		t.Fatal(err)
	}
	if he.Rejected != 0 {
		t.Fatalf("head-end rejected readings across its renewal: %+v", he)
	}
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	c, err := ca.ReadCertificate(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// renewedFrom fails unless now is a later certificate than before, for the
// same key and subject.
func renewedFrom(t *testing.T, what string, now, before *x509.Certificate) {
	t.Helper()
	if now.SerialNumber.Cmp(before.SerialNumber) == 0 || !now.NotAfter.After(before.NotAfter) {
		t.Fatalf("%s: serves %v until %v, as before the renewal (%v until %v)", what, now.SerialNumber, now.NotAfter, before.SerialNumber, before.NotAfter)
	}
	if string(now.RawSubjectPublicKeyInfo) != string(before.RawSubjectPublicKeyInfo) || now.Subject.String() != before.Subject.String() {
		t.Fatalf("%s: renewed for another key or subject (%s, was %s)", what, now.Subject, before.Subject)
	}
}

// servedCert is the certificate the TLS server at addr presents, checked
// against root. A NATS server (nats) greets in clear and then upgrades; it
// also wants a client certificate, which this probe does not have, so only
// what the handshake showed is used.
func servedCert(t *testing.T, addr string, root *x509.Certificate, isNATS bool) *x509.Certificate {
	t.Helper()
	var served *x509.Certificate
	tcfg := &tls.Config{RootCAs: rootPool(root), MinVersion: tls.VersionTLS13,
		VerifyConnection: func(cs tls.ConnectionState) error {
			served = cs.PeerCertificates[0]
			return nil
		}}
	if isNATS {
		nc, err := nats.Connect("tls://"+addr, nats.Secure(tcfg), nats.NoReconnect(), nats.Timeout(5*time.Second))
		if err == nil {
			nc.Close()
		}
	} else {
		conn, err := tls.Dial("tcp", addr, tcfg)
		if err != nil {
			t.Fatal(err)
		}
		conn.Close()
	}
	if served == nil {
		t.Fatalf("%s presented no certificate", addr)
	}
	return served
}

// waitRenewed waits until the log says each named certificate was renewed.
// A 90 s certificate, valid from 5 minutes before issue, is due 12 s after
// it, and renewPeriod then checks every 3.9 s.
func waitRenewed(t *testing.T, run pair, names ...string) {
	t.Helper()
	testnet.Eventually(t, 40*time.Second, 200*time.Millisecond, func() error {
		for _, name := range names {
			if !logged(run.logs.String(), "certificate renewed", name) {
				return fmt.Errorf("%s certificate not renewed yet", name)
			}
		}
		return nil
	})
}

// logged reports whether a JSON log line has msg and name.
func logged(logs, msg, name string) bool {
	for line := range strings.Lines(logs) {
		var l map[string]any
		if json.Unmarshal([]byte(line), &l) == nil && l["msg"] == msg && l["name"] == name {
			return true
		}
	}
	return false
}

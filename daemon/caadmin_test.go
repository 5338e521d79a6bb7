package daemon

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/comms/pki/dbstate"
	"github.com/usapp/usapp/sim/clock"
)

// usapp ca revoke, beside a running CA: the CA's CRL lists the device's
// certificate at once. Mistakes are refused with a reason.
func TestRevoke(t *testing.T) {
	dir := t.TempDir()
	auth, _ := testCA(t, dir, clock.Real{})
	_, id := issued(t, auth.CA(), pki.RoleGateway, "home-1", time.Now())
	gw := id.Cert
	cfg := parseConfig(t, "role: ca\ndata_dir: "+dir+"\n")
	ctx := t.Context()

	var h *Hinted
	for name, r := range map[string]Revocation{"neither": {}, "both": {LFDI: pki.LFDI(gw.Raw), Serial: "1"}} {
		if _, err := Revoke(ctx, cfg, r, nil); !errors.As(err, &h) {
			t.Errorf("%s: %v, want an error with a hint", name, err)
		}
	}
	if _, err := Revoke(ctx, cfg, Revocation{Serial: "zz"}, nil); !errors.Is(err, pki.ErrInvalid) {
		t.Errorf("serial zz: %v, want pki.ErrInvalid", err)
	}
	if _, err := Revoke(ctx, cfg, Revocation{LFDI: "00000000000000000000000000000000000000AA"}, nil); !errors.Is(err, dbstate.ErrNoCertificate) {
		t.Errorf("unknown LFDI: %v, want dbstate.ErrNoCertificate", err)
	}
	elsewhere := parseConfig(t, "role: ca\ndata_dir: "+t.TempDir()+"\n")
	if _, err := Revoke(ctx, elsewhere, Revocation{Serial: "1"}, nil); !errors.As(err, &h) {
		t.Errorf("a data dir without a CA: %v, want an error with a hint", err)
	}

	// Lower-case hex, as people copy it from logs.
	got, err := Revoke(ctx, cfg, Revocation{LFDI: strings.ToLower(pki.FiledUnder(gw))}, nil)
	if err != nil || len(got) != 1 || got[0].Cmp(gw.SerialNumber) != 0 {
		t.Fatalf("Revoke(LFDI) = %v, %v; want the gateway's serial", got, err)
	}
	der, err := auth.CA().CRL(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil || len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Cmp(gw.SerialNumber) != 0 {
		t.Fatalf("the running CA's CRL after the revocation: %v, %v", crl, err)
	}
}

// The list shows what an administrator needs to revoke: the identity, the
// serial and each certificate's status; with --json the same as an array.
func TestListCertificates(t *testing.T) {
	dir := t.TempDir()
	auth, _ := testCA(t, dir, clock.Real{})
	_, lost := issued(t, auth.CA(), pki.RoleGateway, "home-1", time.Now())
	_, kept := issued(t, auth.CA(), pki.RoleGateway, "home-2", time.Now())
	cfg := parseConfig(t, "role: ca\ndata_dir: "+dir+"\n")
	ctx := t.Context()
	if _, err := Revoke(ctx, cfg, Revocation{LFDI: pki.FiledUnder(lost.Cert)}, nil); err != nil {
		t.Fatal(err)
	}

	ls, err := ListCertificates(ctx, cfg, dbstate.Query{Subject: "home-"}, nil)
	if err != nil || len(ls) != 2 {
		t.Fatalf("ListCertificates = %d listings, %v; want the two gateways", len(ls), err)
	}
	var table strings.Builder
	if err := WriteListings(&table, ls, time.Now(), false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(table.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "CN=home-2") || !strings.HasSuffix(strings.TrimSpace(lines[1]), "valid") ||
		!strings.Contains(lines[2], pki.FiledUnder(lost.Cert)) || !strings.Contains(lines[2], "revoked ") {
		t.Fatalf("table:\n%s", table.String())
	}

	var js strings.Builder
	if err := WriteListings(&js, ls, time.Now().Add(400*24*time.Hour), true); err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		Serial, Identity, Status string
		RevokedAt                *time.Time `json:"revoked_at"`
	}
	if err := json.Unmarshal([]byte(js.String()), &rows); err != nil || len(rows) != 2 {
		t.Fatalf("JSON: %v\n%s", err, js.String())
	}
	if rows[0].Serial != kept.Cert.SerialNumber.Text(16) || rows[0].Status != "expired" || rows[0].RevokedAt != nil ||
		rows[1].Status != "revoked" || rows[1].RevokedAt == nil {
		t.Fatalf("JSON rows a year on: %+v", rows)
	}

	elsewhere := parseConfig(t, "role: ca\ndata_dir: "+t.TempDir()+"\n")
	var h *Hinted
	if _, err := ListCertificates(ctx, elsewhere, dbstate.Query{}, nil); !errors.As(err, &h) {
		t.Errorf("a data dir without a CA: %v, want an error with a hint", err)
	}
}

package daemon

import (
	"crypto/x509"
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

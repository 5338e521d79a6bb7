package daemon

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/usapp/usapp/comms/envelope"
	"github.com/usapp/usapp/computing/keystore"
	"github.com/usapp/usapp/config"
	"github.com/usapp/usapp/internal/testnet"
	"github.com/usapp/usapp/platform/store"
	"github.com/usapp/usapp/roles/gateway"
	"github.com/usapp/usapp/roles/headend"
)

// A running gateway whose certificates are short-lived (ca.device_validity)
// renews its own and its meter's with new keys while readings flow, and the
// head-end keeps accepting them: the meter signs with the new key from the
// renewal on, the head-end finds it in the CA's directory, and nothing is
// rejected.
func TestRunningGatewayRenewsWithNewKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for certificates to enter their last fifth (about 15 s)")
	}
	run := runHeadEndAndGateway(t, ", device_validity: 90s", `  name: home-3
  meters: 1
  interval: 250ms
`)
	waitRenewed(t, run, "home-3-meter-1")
	var at gateway.Stats
	if err := getJSON("http://"+run.gwHTTP+"/stats", &at); err != nil {
		t.Fatal(err)
	}
	testnet.Eventually(t, 20*time.Second, 100*time.Millisecond, func() error {
		var now gateway.Stats
		if err := getJSON("http://"+run.gwHTTP+"/stats", &now); err != nil {
			return err
		}
		if now.Accepted < at.Sent+8 {
			return fmt.Errorf("accepted %d, want %d readings signed after the renewal", now.Accepted, at.Sent+8)
		}
		return nil
	})
	var gw gateway.Stats
	var he headend.Stats
	if err := getJSON("http://"+run.gwHTTP+"/stats", &gw); err != nil {
		t.Fatal(err)
	}
	if err := getJSON("http://"+run.heHTTP+"/stats", &he); err != nil {
		t.Fatal(err)
	}
	if gw.Rejected != 0 || he.Rejected != 0 || gw.Mismatches != 0 {
		t.Fatalf("rejections across the renewal: gateway %+v, head-end %+v", gw, he)
	}
	// The head-end stored readings signed with a renewal's key.
	if n := signedWith(t, filepath.Join(run.heDir, "headend.db"), renewalKeys(t, run.gw, "meter-1")); n == 0 {
		t.Fatal("no stored reading is signed with a renewed certificate's key")
	}
	// The first key, superseded, is destroyed.
	ks, err := openKeystore(run.gw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ks.Get("meter-1"); !errors.Is(err, keystore.ErrNotFound) {
		t.Fatalf("the meter's first key is still in the keystore after its renewal: %v", err)
	}
}

// renewalKeys are the public keys of base's renewals (generation 2 on) in
// the gateway's keystore.
func renewalKeys(t *testing.T, gw *config.Config, base string) []ed25519.PublicKey {
	t.Helper()
	ks, err := openKeystore(gw)
	if err != nil {
		t.Fatal(err)
	}
	gens, err := keystore.Generations(ks, base)
	if err != nil {
		t.Fatal(err)
	}
	var pubs []ed25519.PublicKey
	for _, g := range gens {
		if g == 1 {
			continue
		}
		k, err := ed25519Key(ks, keystore.GenerationName(base, g))
		if err != nil {
			t.Fatal(err)
		}
		pubs = append(pubs, k.Public().(ed25519.PublicKey))
	}
	return pubs
}

// signedWith counts the readings in the head-end's store whose record
// verifies with one of pubs.
func signedWith(t *testing.T, db string, pubs []ed25519.PublicKey) int {
	t.Helper()
	st, err := store.Open(t.Context(), "sqlite:"+db, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n := 0
	err = st.Readings(t.Context(), func(r store.Reading) error {
		for _, pub := range pubs {
			if _, _, err := envelope.Verify(r.Record, pub); err == nil {
				n++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/usapp/usapp/comms/pki"
	"github.com/usapp/usapp/comms/pki/dbstate"
	"github.com/usapp/usapp/config"
	"github.com/usapp/usapp/roles/ca"
)

// Revocation names what to revoke: every certificate of a device identity
// (its LFDI, which renewals keep), or one certificate by serial (hex).
type Revocation struct {
	LFDI   string
	Serial string
}

// Revoke records a revocation (A1.revocation) in the database of the CA that
// cfg describes, as an administrator does for a stolen or decommissioned
// device. It may run beside that CA: the CA's CRL carries the revocation at
// once, the CA's own bus verifier within a minute (and the embedded bus
// closes the device's connection within 30 s of that), and head-ends that
// fetch the CRL from ca.url at their next refresh. It returns the serials
// revoked.
func Revoke(ctx context.Context, cfg *config.Config, r Revocation, log *slog.Logger) ([]*big.Int, error) {
	if (r.LFDI == "") == (r.Serial == "") {
		return nil, &Hinted{errors.New("revoke needs exactly one of an LFDI and a serial"), "pass --lfdi for a device, or --serial for one certificate"}
	}
	st, err := openCAState(cfg, log)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	now := time.Now()
	if r.Serial != "" {
		n, ok := new(big.Int).SetString(strings.TrimPrefix(strings.ToLower(r.Serial), "0x"), 16)
		if !ok || n.Sign() <= 0 {
			return nil, fmt.Errorf("serial %q: want a positive hexadecimal number: %w", r.Serial, pki.ErrInvalid)
		}
		if err := st.RevokeSerial(ctx, n, now); err != nil {
			return nil, err
		}
		return []*big.Int{n}, nil
	}
	return st.RevokeIdentity(ctx, strings.ToUpper(r.LFDI), now)
}

// ListCertificates returns the certificates in the audit trail of the CA
// that cfg describes that q selects, most recent first, each with its
// revocation time: how an administrator finds the LFDI or serial to revoke.
func ListCertificates(ctx context.Context, cfg *config.Config, q dbstate.Query, log *slog.Logger) ([]dbstate.Listing, error) {
	st, err := openCAState(cfg, log)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return st.List(ctx, q)
}

// openCAState opens the database of the CA that cfg runs (the CA role, or a
// head-end that embeds one), refusing a configuration with no CA of its own.
func openCAState(cfg *config.Config, log *slog.Logger) (*dbstate.State, error) {
	if cfg.CA.URL != "" && cfg.Role != "ca" {
		return nil, &Hinted{errors.New("this configuration reaches its CA at ca.url"),
			"run the command with the CA's own configuration, on the CA's machine"}
	}
	dir := filepath.Join(cfg.DataDir, "ca")
	if _, err := os.Stat(filepath.Join(dir, ca.RootFile)); err != nil {
		return nil, &Hinted{fmt.Errorf("no CA in %s: %w", dir, err), "run the command with the configuration of the CA (or of the head-end that embeds it)"}
	}
	return ca.OpenState(dir, cfg.CA.DSN, log)
}

// listingJSON is one line of `usapp ca list --json`.
type listingJSON struct {
	Serial    string     `json:"serial"`
	Identity  string     `json:"identity"`
	LFDI      string     `json:"lfdi"`
	Subject   string     `json:"subject"`
	NotAfter  time.Time  `json:"not_after"`
	Status    string     `json:"status"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// WriteListings writes listings as a table, or as a JSON array, with each
// certificate's status at now: valid, expired or revoked.
func WriteListings(w io.Writer, ls []dbstate.Listing, now time.Time, asJSON bool) error {
	rows := make([]listingJSON, len(ls))
	for i, l := range ls {
		rows[i] = listingJSON{Serial: l.Serial.Text(16), Identity: l.Identity, LFDI: l.LFDI, Subject: l.Subject,
			NotAfter: l.NotAfter, Status: "valid"}
		switch {
		case !l.RevokedAt.IsZero():
			at := l.RevokedAt
			rows[i].Status, rows[i].RevokedAt = "revoked", &at
		case now.After(l.NotAfter):
			rows[i].Status = "expired"
		}
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERIAL\tIDENTITY (LFDI)\tSUBJECT\tNOT AFTER\tSTATUS")
	for _, r := range rows {
		status := r.Status
		if r.RevokedAt != nil {
			status += " " + r.RevokedAt.Format(time.RFC3339)
		}
		id := r.Identity
		if id == "" {
			id = r.LFDI
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Serial, id, r.Subject, r.NotAfter.Format(time.RFC3339), status)
	}
	return tw.Flush()
}

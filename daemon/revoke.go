package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/usapp/usapp/comms/pki"
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
// once, the CA's own bus verifier within a minute, and head-ends that fetch
// the CRL from ca.url at their next refresh. It returns the serials revoked.
func Revoke(ctx context.Context, cfg *config.Config, r Revocation, log *slog.Logger) ([]*big.Int, error) {
	if (r.LFDI == "") == (r.Serial == "") {
		return nil, &Hinted{errors.New("revoke needs exactly one of an LFDI and a serial"), "pass --lfdi for a device, or --serial for one certificate"}
	}
	if cfg.CA.URL != "" && cfg.Role != "ca" {
		return nil, &Hinted{errors.New("this configuration reaches its CA at ca.url"),
			"run the command with the CA's own configuration, on the CA's machine"}
	}
	dir := filepath.Join(cfg.DataDir, "ca")
	if _, err := os.Stat(filepath.Join(dir, ca.RootFile)); err != nil {
		return nil, &Hinted{fmt.Errorf("no CA in %s: %w", dir, err), "run the command with the configuration of the CA (or of the head-end that embeds it)"}
	}
	st, err := ca.OpenState(dir, cfg.CA.DSN, log)
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

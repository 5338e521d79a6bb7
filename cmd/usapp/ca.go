package main

import (
	"fmt"

	"github.com/usapp/usapp/daemon"
)

type caCmd struct {
	Revoke caRevokeCmd `cmd:"" help:"Revoke a device's certificates (by LFDI) or one certificate (by serial) in the CA's database; a running CA applies it within a minute."`
}

type caRevokeCmd struct {
	Config string `help:"The CA's configuration file (usapp serve ca, or a head-end with the embedded CA)." required:"" type:"existingfile"`
	LFDI   string `name:"lfdi" help:"Device identity (LFDI, 40 hex digits): revokes every certificate it was issued, renewals included." xor:"what" required:""`
	Serial string `help:"Serial number of one certificate, in hex." xor:"what" required:""`
}

func (c *caRevokeCmd) Run(g *globals) error {
	cfg, err := loadConfig(c.Config)
	if err != nil {
		return err
	}
	revoked, err := daemon.Revoke(g.ctx, cfg, daemon.Revocation{LFDI: c.LFDI, Serial: c.Serial}, newLogger(g.logLevel))
	if err != nil {
		return err
	}
	for _, s := range revoked {
		fmt.Printf("revoked serial %s\n", s.Text(16))
	}
	fmt.Println("The CA's CRL lists it now; a running CA's bus and head-ends refresh within a minute.")
	return nil
}

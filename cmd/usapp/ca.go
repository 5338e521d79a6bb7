package main

import (
	"fmt"
	"os"
	"time"

	"github.com/usapp/usapp/comms/pki/dbstate"
	"github.com/usapp/usapp/daemon"
)

type caCmd struct {
	List   caListCmd   `cmd:"" help:"List the certificates the CA issued, most recent first, with their status: to find the LFDI or serial to revoke."`
	Revoke caRevokeCmd `cmd:"" help:"Revoke a device's certificates (by LFDI) or one certificate (by serial) in the CA's database; a running CA applies it within ca.crl_refresh."`
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
	fmt.Println("The CA's CRL lists it now. A running CA's bus and head-ends learn of it within ca.crl_refresh")
	fmt.Println("(a minute by default), and the embedded bus then closes the device's connections within")
	fmt.Println("bus.reverify_every (30 s by default).")
	return nil
}

type caListCmd struct {
	Config  string `help:"The CA's configuration file (usapp serve ca, or a head-end with the embedded CA)." required:"" type:"existingfile"`
	LFDI    string `name:"lfdi" help:"Only the certificates of this device identity (or with this LFDI)."`
	Subject string `help:"Only subjects containing this text, any case (e.g. CN=home-3)."`
	Limit   int    `help:"At most this many certificates (at most 100000)." default:"100"`
	JSON    bool   `name:"json" help:"Write a JSON array instead of a table."`
}

func (c *caListCmd) Run(g *globals) error {
	cfg, err := loadConfig(c.Config)
	if err != nil {
		return err
	}
	ls, err := daemon.ListCertificates(g.ctx, cfg, dbstate.Query{LFDI: c.LFDI, Subject: c.Subject, Limit: c.Limit}, newLogger(g.logLevel))
	if err != nil {
		return err
	}
	return daemon.WriteListings(os.Stdout, ls, time.Now(), c.JSON)
}

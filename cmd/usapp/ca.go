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
	// enrol-bus, not a config file: the NATS server is not a USaPP role.
	EnrolBus caEnrolBusCmd `cmd:"" name:"enrol-bus" help:"Enrol a TLS certificate for an external NATS server (bus.url) with the CA's bus service token, for the server's tls block."`
	RenewBus caRenewBusCmd `cmd:"" name:"renew-bus" help:"Renew an external NATS server's certificate with itself, once in the last fifth of its validity (run it daily, then reload the server)."`
}

type caEnrolBusCmd struct {
	CA        string   `name:"ca" help:"The CA's URL." required:"" placeholder:"https://HOST:PORT"`
	Root      string   `help:"The CA's root certificate (its ca.root_file)." required:"" type:"existingfile"`
	TokenFile string   `help:"The CA's service token file (its ca.service_token_file); the bus line is used." required:"" type:"existingfile"`
	Host      []string `help:"A name or address clients reach the server by; repeat for several." required:""`
	Cert      string   `help:"Where to write the certificate (PEM): tls.cert_file." default:"nats-server.pem"`
	Key       string   `help:"Where to write its new key (PKCS #8 PEM, mode 0600): tls.key_file." default:"nats-server.key"`
}

func (c *caEnrolBusCmd) Run(g *globals) error {
	cert, err := daemon.EnrolBus(g.ctx, daemon.BusEnrolment{CAURL: c.CA, RootFile: c.Root, TokenFile: c.TokenFile,
		Hosts: c.Host, CertFile: c.Cert, KeyFile: c.Key})
	if err != nil {
		return err
	}
	fmt.Printf("wrote %s (serial %s, valid until %s) and its key %s\n", c.Cert, cert.SerialNumber.Text(16),
		cert.NotAfter.UTC().Format(time.RFC3339), c.Key)
	fmt.Printf("In the server's tls block: cert_file %s, key_file %s, ca_file %s, verify: true.\n", c.Cert, c.Key, c.Root)
	fmt.Println("Renew it before it expires with usapp ca renew-bus (daily, from a timer), then reload the server.")
	return nil
}

type caRenewBusCmd struct {
	CA    string `name:"ca" help:"The CA's URL." required:"" placeholder:"https://HOST:PORT"`
	Root  string `help:"The CA's root certificate (its ca.root_file)." required:"" type:"existingfile"`
	Cert  string `help:"The server's certificate (tls.cert_file), replaced when renewed." default:"nats-server.pem" type:"existingfile"`
	Key   string `help:"Its key (tls.key_file), which is kept." default:"nats-server.key" type:"existingfile"`
	Force bool   `help:"Renew even if the certificate is not yet in the last fifth of its validity."`
}

func (c *caRenewBusCmd) Run(g *globals) error {
	cert, renewed, err := daemon.RenewBus(g.ctx, daemon.BusRenewal{CAURL: c.CA, RootFile: c.Root, CertFile: c.Cert, KeyFile: c.Key, Force: c.Force})
	if err != nil {
		return err
	}
	until := cert.NotAfter.UTC().Format(time.RFC3339)
	if !renewed {
		fmt.Printf("%s (serial %s) is valid until %s and not yet due; nothing to do\n", c.Cert, cert.SerialNumber.Text(16), until)
		return nil
	}
	fmt.Printf("renewed %s (serial %s, valid until %s), same key\n", c.Cert, cert.SerialNumber.Text(16), until)
	fmt.Println("Reload the server to serve it: nats-server --signal reload")
	return nil
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

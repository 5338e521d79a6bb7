//go:build tools

package tools

import (
	_ "github.com/alecthomas/kong"
	_ "github.com/fxamacker/cbor/v2"
	_ "github.com/hdevalence/ed25519consensus"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/nats-io/nats-server/v2/server"
	_ "github.com/nats-io/nats.go"
	_ "github.com/nats-io/nats.go/jetstream"
	_ "github.com/schollz/progressbar/v3"
	_ "github.com/veraison/go-cose"
	_ "go.yaml.in/yaml/v3"
	_ "golang.org/x/crypto/scrypt"
	_ "golang.org/x/mod/sumdb/note"
	_ "golang.org/x/mod/sumdb/tlog"
	_ "modernc.org/sqlite"
	_ "pgregory.net/rapid"
)

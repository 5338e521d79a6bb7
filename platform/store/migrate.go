package store

import (
	"embed"

	"github.com/usapp/usapp/platform/sqldb"
)

//go:embed migrations
var migrationFiles embed.FS

// schema is the store's schema, for sqldb.DB.Migrate. Its versions are
// recorded in schema_migrations, the table's name since the first release.
var schema = sqldb.Schema{FS: migrationFiles, Dir: "migrations", Table: "schema_migrations"}

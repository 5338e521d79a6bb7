-- The CA's memory (comms/pki.State). Times are unix nanoseconds; serials
-- are lower-case hex, as in certificates' text form.
CREATE TABLE ca_serial (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	last BIGINT  NOT NULL CHECK (last >= 0)
);
INSERT INTO ca_serial (id, last) VALUES (1, 0);

CREATE TABLE ca_tokens (
	hash    BYTEA   PRIMARY KEY,
	role    TEXT    NOT NULL,
	name    TEXT    NOT NULL,
	gateway TEXT    NOT NULL,
	expires BIGINT  NOT NULL,
	used    BOOLEAN NOT NULL
);
CREATE INDEX ca_tokens_expires ON ca_tokens (expires);

CREATE TABLE ca_revoked (
	serial     TEXT   PRIMARY KEY,
	revoked_at BIGINT NOT NULL
);

CREATE TABLE ca_issued (
	seq       BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	serial    TEXT    NOT NULL UNIQUE,
	lfdi      TEXT    NOT NULL,
	identity  TEXT,   -- NULL for records imported from a state file
	subject   TEXT    NOT NULL,
	not_after BIGINT  NOT NULL,
	der       BYTEA
);
CREATE INDEX ca_issued_identity ON ca_issued (identity);

CREATE TABLE ca_imports (
	sha256      BYTEA  PRIMARY KEY,
	imported_at BIGINT NOT NULL
);

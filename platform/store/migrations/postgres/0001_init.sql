-- Accepted billing readings. The dedup key is (meter, counter), which also
-- serves the billing scan: a meter's counter rises with its interval, so no
-- second index is kept (each index costs every insert a B-tree update).
-- meter uses the "C" collation so that ORDER BY meter is byte order, as in
-- SQLite. counter holds the uint64 bit pattern in a signed BIGINT.
-- Times are unix seconds; interval_ns is a Go time.Duration.
CREATE TABLE readings (
    meter          TEXT COLLATE "C" NOT NULL,
    counter        BIGINT NOT NULL,
    gateway        TEXT   NOT NULL,
    interval_start BIGINT NOT NULL,
    interval_ns    BIGINT NOT NULL,
    energy_wh      BIGINT NOT NULL,
    digest         BYTEA  NOT NULL CHECK (octet_length(digest) = 32),
    record         BYTEA  NOT NULL,
    log_index      BIGINT NOT NULL,
    received_at    BIGINT NOT NULL,
    PRIMARY KEY (meter, counter)
);

-- Transparency-log tree hashes by stored-hash index (golang.org/x/mod/sumdb/tlog).
CREATE TABLE ledger_hashes (
    idx  BIGINT PRIMARY KEY CHECK (idx >= 0),
    hash BYTEA  NOT NULL CHECK (octet_length(hash) = 32)
);

-- The latest signed checkpoint: a single row.
CREATE TABLE checkpoints (
    id   SMALLINT PRIMARY KEY CHECK (id = 1),
    size BIGINT   NOT NULL CHECK (size >= 0),
    note BYTEA    NOT NULL
);

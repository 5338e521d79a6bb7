-- Accepted billing readings. The dedup key is (meter, counter), which also
-- serves the billing scan: a meter's counter rises with its interval, so no
-- second index is kept (each index costs every insert a B-tree update).
-- counter holds the uint64 bit pattern in a signed 64-bit column.
-- Times are unix seconds; interval_ns is a Go time.Duration.
CREATE TABLE readings (
    meter          TEXT    NOT NULL,
    counter        INTEGER NOT NULL,
    gateway        TEXT    NOT NULL,
    interval_start INTEGER NOT NULL,
    interval_ns    INTEGER NOT NULL,
    energy_wh      INTEGER NOT NULL,
    digest         BLOB    NOT NULL CHECK (length(digest) = 32),
    record         BLOB    NOT NULL,
    log_index      INTEGER NOT NULL,
    received_at    INTEGER NOT NULL,
    PRIMARY KEY (meter, counter)
);

-- Transparency-log tree hashes by stored-hash index (golang.org/x/mod/sumdb/tlog).
CREATE TABLE ledger_hashes (
    idx  INTEGER PRIMARY KEY CHECK (idx >= 0),
    hash BLOB    NOT NULL CHECK (length(hash) = 32)
);

-- The latest signed checkpoint: a single row.
CREATE TABLE checkpoints (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    size INTEGER NOT NULL CHECK (size >= 0),
    note BLOB    NOT NULL
);

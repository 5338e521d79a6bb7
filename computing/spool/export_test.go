package spool

import "log/slog"

// OpenPerRow opens a spool without group commit (one transaction per write
// request), the baseline the benchmarks compare against.
func OpenPerRow(path string, log *slog.Logger) (*Spool, error) { return open(path, log, 1) }

// Groups reports the group commits so far and the rows they carried.
func (s *Spool) Groups() (groups, rows int64) { return s.groups.Load(), s.grouped.Load() }

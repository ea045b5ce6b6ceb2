// Package checksum proves two clusters hold the same rows. Each table is cut
// into primary-key ranges from a block sample of the source's keys (no full
// scan; the first and last ranges are open so no row escapes). Each range is
// hashed on both clusters at once, inside one exported snapshot per cluster
// shared by all workers: a row count plus the numeric sum of exact,
// version-stable 64-bit row hashes (see hashexpr.go). Ranges that differ are
// split and then compared row by row, naming missing, extra and changed rows
// and the columns that differ. When the target subscribes to the source,
// differing rows are re-read after the subscriber has confirmed the source's
// WAL position, so replication lag never shows as a difference; rows that
// keep changing are reported as unstable.
package checksum

// Where things are, in the order a run goes through them: engine.go (Run:
// options, snapshots, the phases), side.go (one cluster's coordinator,
// workers, keep-alive), job.go (pairing tables, per-table state), pool.go
// (workers and their savepoints), ranges.go (cutting and hashing ranges),
// hashexpr.go and plan.go (the SQL), drill.go (from a differing range to
// rows), nokey.go (tables without a key), finish.go (a table's status and
// differences), live.go (re-checks against a live subscriber), result.go
// (the result and its JSON).

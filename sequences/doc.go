// Package sequences compares every sequence of a source database with its
// namesake on a target and, on request, moves the target's sequences forward
// so the first insert after a switchover cannot reuse a key.
//
// Logical replication does not carry sequence state (up to PostgreSQL 18):
// the target's sequences stay where the initial schema load left them while
// its tables fill with replicated rows. A target sequence is safe when the
// next value it will hand out is above both the source's last value and the
// current maximum of every target column that draws from it (owned by it as
// serial or identity, or calling nextval() on it in a default).
//
// Compare only reads. Sync is the one write: it moves unsafe target
// sequences forward with setval(), never backwards, and a second run finds
// nothing to do. The package is a library so a switchover step can call it
// inside its write pause; only report and cmd print.
package sequences

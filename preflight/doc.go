// Package preflight checks, from the catalogs and before anything starts,
// everything that will break or silently lose data when a database moves to
// a new major through logical replication: server settings and capacity,
// tables the publication cannot replicate correctly, objects it does not
// replicate at all, functions the apply worker cannot resolve, sessions and
// slots in the way, and, given the target, the health of an existing
// subscription.
//
// Each rule has a stable code (PF001...), a severity, the objects involved
// and a concrete remedy. Rules only read: connections are read-only. The SQL
// lives in sql/*.sql, one query per purpose; differences between majors are
// decided in versions.go only.
package preflight

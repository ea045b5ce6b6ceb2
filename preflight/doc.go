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

// Where things are: preflight.go (Run, its options and result, the
// findings, the env the rules share), rules.go (the rule registry: each
// code, its title, and the file its rule is in), settings.go (server settings
// and capacity), tables.go (tables the publication cannot replicate
// correctly), unreplicated.go (objects it does not replicate), extensions.go
// (the target's extensions), sessions.go (sessions and slots on the source),
// collations.go (collation drift), functions.go (what the apply worker runs:
// schema lint, triggers), subscription.go (an existing subscription's
// health), helpers.go (reads and formatting several rules share),
// versions.go (differences between majors), sql/ (the queries).

// Package lint finds search_path hazards in function bodies and in the
// expressions that call functions (defaults, CHECKs, indexes, generated
// columns, triggers, operators): names that resolve differently, or not at
// all, when a restore, maintenance or the logical replication apply worker
// runs them with another search_path. It lints SQL scripts (LintFiles:
// pg_dump --schema-only output or migrations, replayed in order into one
// model catalog) or a live database (LintDatabase, LintTx).
package lint

// Where things are: lint.go (LintFiles, options, the end of a run:
// suppressions and fixes), live.go (LintDatabase and LintTx: the model from
// a live catalog), source.go (a script's text and positions), replay.go (the
// statement dispatcher: parsing a script, in pieces when large, and sending
// each statement to its handler) with one file per DDL family:
// replay_path.go (SET and set_config of search_path, and name resolution
// with it), replay_functions.go (CREATE and ALTER FUNCTION),
// replay_tables.go (tables, constraints, defaults, indexes, materialized
// views, statistics), replay_triggers.go, replay_types.go (domains, types,
// aggregates, operators), replay_alter.go (RENAME, SET SCHEMA, DROP);
// parseerror.go (ParseError). Then model.go (the catalog's objects),
// names.go (names and quoting), walk.go (references in parse trees), body.go
// and plfallback.go (function bodies), builtins.go (the pg_catalog names of
// each major), analyze.go (what reaches what, and the findings), rules.go
// (the codes), finding.go (findings and results), order.go (migration
// order), querier.go (the Querier type).

// Package diff compares the catalogs of two PostgreSQL databases, possibly
// of different majors, and returns every difference in the objects a logical
// replication target must share with its source: schemas, tables, columns,
// constraints, indexes, sequences, functions, triggers, views, types,
// extensions, publications, RLS policies and, on request, owners and grants.
//
// Each side is read in one REPEATABLE READ snapshot with search_path = ”
// so every name comes back schema-qualified. Stored definitions (views,
// defaults, CHECKs, index expressions, policies, SQL-standard function
// bodies) are compared as parse trees from pg_query with locations removed
// and a few documented, meaning-preserving rewrites applied, so that known
// deparse differences between majors never show as noise, while any real
// difference still does. The catalog SQL lives in sql/*.sql, one query per
// object kind; version branches are resolved in features.go.
package diff

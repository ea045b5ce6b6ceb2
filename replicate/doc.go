// Package replicate sets up a logical-replication move end to end and proves
// it: preflight, target database, roles, schema (pg_dump | psql, with the
// search_path lint gate), schema diff, publication and subscription, the
// initial sync with progress and a catalog-based diagnosis when a table does
// not sync, then the verification gates (watermark, tables or sample,
// sequences) and ANALYZE. Every step looks at the catalogs first and does
// only what is missing, so an interrupted run started again resumes. The
// source is only ever changed by CREATE PUBLICATION (and the replication
// slot the target's CREATE SUBSCRIPTION creates); every other write goes to
// the target. Run returns data; report/ renders it.
package replicate

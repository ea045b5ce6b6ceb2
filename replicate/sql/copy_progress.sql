-- Rows and bytes the table sync workers have copied so far (PG 14+).
SELECT relid::bigint, tuples_processed, bytes_processed FROM pg_catalog.pg_stat_progress_copy

-- Cumulative table sync and apply errors of subscription $1 (oid; PG 15+).
SELECT sync_error_count, apply_error_count FROM pg_catalog.pg_stat_subscription_stats WHERE subid = $1

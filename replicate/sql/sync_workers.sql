-- Running workers of subscription $1 (oid): relid set for table sync workers.
SELECT COALESCE(relid, 0)::bigint, pid FROM pg_catalog.pg_stat_subscription WHERE subid = $1 AND pid IS NOT NULL

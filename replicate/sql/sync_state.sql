-- Per-table state of subscription $1 (oid).
SELECT n.nspname, c.relname, r.srsubstate::text, c.oid::bigint
FROM pg_catalog.pg_subscription_rel r
JOIN pg_catalog.pg_class c ON c.oid = r.srrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE r.srsubid = $1
ORDER BY 1, 2

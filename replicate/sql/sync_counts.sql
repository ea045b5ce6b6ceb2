-- Tables of subscription $1 (oid), and how many are ready.
SELECT count(*), count(*) FILTER (WHERE srsubstate IN ('r', 's'))
FROM pg_catalog.pg_subscription_rel WHERE srsubid = $1

-- subscriptions.sql for a role that may not read pg_subscription.oid (PG 13
-- grants it to superusers only): the same columns, oid 0, the apply worker
-- matched by name.
SELECT 0::int8 AS oid,
       s.subname::text,
       quote_ident(s.subname) AS ident,
       s.subenabled,
       coalesce(s.subslotname::text, '') AS slot,
       s.subpublications::text[]         AS publications,
       EXISTS (SELECT 1 FROM pg_stat_subscription st
               WHERE st.subname = s.subname AND st.relid IS NULL AND st.pid IS NOT NULL) AS worker_running
FROM pg_subscription s
WHERE s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY s.subname

-- Subscriptions of this database (readable columns only: subconninfo holds a
-- password) and whether their apply worker runs.
SELECT s.oid::int8,
       s.subname::text,
       quote_ident(s.subname) AS ident,
       s.subenabled,
       coalesce(s.subslotname::text, '') AS slot,
       s.subpublications::text[]         AS publications,
       EXISTS (SELECT 1 FROM pg_stat_subscription st
               WHERE st.subid = s.oid AND st.relid IS NULL AND st.pid IS NOT NULL) AS worker_running
FROM pg_subscription s
WHERE s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY s.subname

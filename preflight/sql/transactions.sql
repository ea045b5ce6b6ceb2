-- Transactions open longer than $1 seconds in any database of the cluster:
-- creating a logical slot waits for every transaction holding an xid.
SELECT a.pid,
       coalesce(a.usename::text, '')        AS usename,
       coalesce(a.datname::text, '')        AS datname,
       coalesce(a.application_name, '')     AS application_name,
       coalesce(a.state, '')                AS state,
       extract(epoch FROM now() - a.xact_start)::float8 AS age_seconds,
       a.backend_xid IS NOT NULL            AS has_xid
FROM pg_stat_activity a
WHERE a.xact_start IS NOT NULL
  AND a.pid <> pg_backend_pid()
  AND a.backend_type = 'client backend'
  AND a.xact_start < now() - make_interval(secs => $1)
ORDER BY a.xact_start

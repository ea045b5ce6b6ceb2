-- Logical replication workers that subscriptions of other databases hold
-- or will claim on the target. max_logical_replication_workers is one pool
-- for the whole cluster (pg_subscription and pg_stat_subscription are
-- cluster-wide): their running apply, table-sync and parallel apply
-- workers, and one apply worker for each enabled one whose worker is not
-- running (the launcher starts it). pg_stat_subscription rows are matched
-- by subscription name (pg_subscription.oid is not readable by every role).
WITH subs AS (
    SELECT s.subname, d.datname, s.subenabled,
           (SELECT count(*) FROM pg_stat_subscription st
            WHERE st.subname = s.subname AND st.pid IS NOT NULL)::int8 AS running
    FROM pg_subscription s
    JOIN pg_database d ON d.oid = s.subdbid
    WHERE d.datname <> current_database()
)
SELECT coalesce(sum(CASE WHEN subenabled THEN greatest(running, 1) ELSE running END), 0)::int8 AS used,
       coalesce(array_agg(quote_ident(subname) || ' in database ' || quote_ident(datname) || ' (' ||
                          CASE WHEN running > 0 THEN running || ' running'
                               ELSE 'enabled, worker not running' END || ')'
                          ORDER BY datname, subname)
                FILTER (WHERE running > 0 OR subenabled), '{}')::text[] AS holders
FROM subs

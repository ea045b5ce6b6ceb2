-- Every replication slot of the cluster with its consumer, lag and WAL
-- retention. invalidation_reason exists from 17 on; reading it through
-- to_jsonb keeps one query for every major (NULL before 17).
SELECT s.slot_name::text,
       s.slot_type::text,
       coalesce(s.plugin::text, '')                 AS plugin,
       coalesce(s.database::text, '')               AS database,
       coalesce(s.database = current_database(), false) AS this_db,
       s.active,
       s.temporary,
       coalesce(s.wal_status, '')                   AS wal_status,
       s.safe_wal_size::int8,
       pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)::int8         AS retained_bytes,
       pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn)::int8 AS lag_bytes,
       coalesce(to_jsonb(s) ->> 'invalidation_reason', '') AS invalidation_reason,
       coalesce((SELECT coalesce(nullif(r.application_name, ''), 'pid ' || r.pid)
                        || coalesce(' from ' || host(r.client_addr), '')
                 FROM pg_stat_replication r WHERE r.pid = s.active_pid), '') AS consumer
FROM pg_replication_slots s
ORDER BY s.slot_name

-- What the replication settings are already used for: slots, WAL senders
-- (physical standbys count too) and replication origins, cluster-wide.
SELECT (SELECT count(*) FROM pg_replication_slots)::int8 AS slots,
       (SELECT count(*) FROM pg_stat_replication)::int8  AS senders,
       (SELECT count(*) FROM pg_replication_origin)::int8 AS origins

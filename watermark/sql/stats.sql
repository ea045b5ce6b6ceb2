-- Updates and deletes the source has counted on a table (and on all its
-- partitions) since its statistics were last reset: non-zero means the
-- table is not append-only.
SELECT coalesce(sum(s.n_tup_upd), 0)::int8,
       coalesce(sum(s.n_tup_del), 0)::int8
FROM (SELECT relid FROM pg_partition_tree($1::oid::regclass)
      UNION
      SELECT $1::oid) p
JOIN pg_stat_user_tables s ON s.relid = p.relid

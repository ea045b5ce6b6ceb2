-- Planner row estimate of a table: a plain table's own reltuples, or the sum
-- over a partitioned table's leaves. unknown is set when any part was never
-- analyzed (reltuples -1 on 14+, 0 with pages on 13), so the caller counts.
SELECT coalesce(sum(greatest(c.reltuples, 0)), 0)::float8 AS estimate,
       coalesce(bool_or(c.reltuples < 0 OR (c.reltuples = 0 AND c.relpages > 0)), false)
         OR count(*) = 0 OR coalesce(sum(c.reltuples), 0) = 0 AS unknown
FROM pg_catalog.pg_class c
WHERE (c.oid = $1::pg_catalog.oid AND c.relkind = 'r')
   OR c.oid IN (SELECT p.relid FROM pg_catalog.pg_partition_tree($1::pg_catalog.oid) p
                WHERE p.isleaf AND p.relid <> $1::pg_catalog.oid)

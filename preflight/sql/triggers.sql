-- Triggers enabled ALWAYS or REPLICA fire in the logical-replication apply
-- worker (session_replication_role = replica); ordinary ones do not.
-- Clones on partitions (tgparentid, 13+) are reported through their parent.
SELECT c.oid::regclass::text AS object,
       rn.nspname::text      AS root_schema,
       r.relname::text       AS root_name,
       t.tgname::text        AS trigger,
       t.tgenabled::text     AS enabled,
       t.tgfoid::regprocedure::text AS function
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class r ON r.oid = coalesce(pg_partition_root(c.oid), c.oid)
JOIN pg_namespace rn ON rn.oid = r.relnamespace
WHERE NOT t.tgisinternal
  AND t.tgenabled IN ('A', 'R')
  AND t.tgparentid = 0
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_)'
ORDER BY 1, 4

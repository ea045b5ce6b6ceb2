-- One row per user relation the move is concerned with: tables (plain,
-- partitioned and partitions), materialized views, foreign tables and
-- sequences, with what the rules need to judge them. Extension-owned
-- relations, system and temporary schemas are left out.
WITH RECURSIVE base(typid, baseid, depth) AS (
    SELECT t.oid, t.oid, 0 FROM pg_type t WHERE t.typtype <> 'd'
  UNION ALL
    SELECT d.oid, b.baseid, b.depth + 1
    FROM pg_type d JOIN base b ON d.typbasetype = b.typid
    WHERE d.typtype = 'd' AND b.depth < 10
),
-- Whether a type has an equality operator the subscriber can use to find a
-- row under REPLICA IDENTITY FULL: a default btree or hash operator class for
-- the type, a type it is binary-coercible to, or its polymorphic family;
-- arrays also need one for their element type.
eq(typid, has_eq) AS (
  SELECT b.typid,
         bool_and(EXISTS (
           SELECT 1
           FROM pg_opclass o
           JOIN pg_am a ON a.oid = o.opcmethod
           WHERE o.opcdefault AND a.amname IN ('btree', 'hash')
             AND (o.opcintype = x.typ
                  OR EXISTS (SELECT 1 FROM pg_cast k
                             WHERE k.castsource = x.typ AND k.casttarget = o.opcintype
                               AND k.castmethod = 'b'))))
  FROM base b
  JOIN pg_type bt ON bt.oid = b.baseid
  CROSS JOIN LATERAL (
    SELECT CASE WHEN bt.typcategory = 'A' AND bt.typelem <> 0 THEN 'pg_catalog.anyarray'::regtype::oid
                WHEN bt.typtype = 'e' THEN 'pg_catalog.anyenum'::regtype::oid
                WHEN bt.typtype = 'r' THEN 'pg_catalog.anyrange'::regtype::oid
                WHEN bt.typtype = 'c' THEN 'pg_catalog.record'::regtype::oid
                WHEN bt.typtype = 'm' THEN (SELECT oid FROM pg_type WHERE typname = 'anymultirange'
                                              AND typnamespace = 'pg_catalog'::regnamespace)
                ELSE bt.oid END
    UNION ALL
    SELECT eb.baseid
    FROM base eb
    WHERE bt.typcategory = 'A' AND bt.typelem <> 0 AND eb.typid = bt.typelem
  ) x(typ)
  GROUP BY b.typid
)
SELECT c.oid::regclass::text                          AS object,
       n.nspname::text                                AS schema,
       c.relname::text                                AS name,
       rn.nspname::text                               AS root_schema,
       r.relname::text                                AS root_name,
       c.relkind::text                                AS kind,
       c.relpersistence::text                         AS persistence,
       c.relreplident::text                           AS replident,
       c.relispartition                               AS is_partition,
       EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS has_pk,
       CASE c.relreplident
         WHEN 'd' THEN EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)
         WHEN 'i' THEN EXISTS (SELECT 1 FROM pg_index i
                               WHERE i.indrelid = c.oid AND i.indisreplident AND i.indisvalid)
         WHEN 'f' THEN true
         ELSE false
       END                                            AS identity_ok,
       coalesce((SELECT array_agg(a.attname::text || ' ' || format_type(a.atttypid, a.atttypmod) ORDER BY a.attnum)
                 FROM pg_attribute a
                 JOIN eq ON eq.typid = a.atttypid
                 WHERE c.relreplident = 'f' AND a.attrelid = c.oid AND a.attnum > 0
                   AND NOT a.attisdropped AND NOT eq.has_eq), '{}') AS full_without_eq,
       coalesce((SELECT array_agg(a.attname::text ORDER BY a.attnum)
                 FROM pg_attribute a
                 WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                   AND a.attgenerated = 's'), '{}') AS generated,
       coalesce((SELECT s.srvname::text FROM pg_foreign_table f JOIN pg_foreign_server s ON s.oid = f.ftserver
                 WHERE f.ftrelid = c.oid), '')        AS foreign_server
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
-- The table whose --table/--exclude selection decides: a partition's root,
-- a sequence's owning table (serial, identity), else the relation itself.
JOIN pg_class r ON r.oid = coalesce(
       pg_partition_root(c.oid),
       (SELECT d.refobjid FROM pg_depend d
        WHERE c.relkind = 'S' AND d.classid = 'pg_class'::regclass AND d.objid = c.oid
          AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
        LIMIT 1),
       c.oid)
JOIN pg_namespace rn ON rn.oid = r.relnamespace
WHERE c.relkind IN ('r', 'p', 'm', 'f', 'S')
  AND c.relpersistence <> 't'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_)'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY n.nspname, c.relname

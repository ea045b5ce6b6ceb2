-- Every user table (plain and partitioned roots; partitions are read through
-- their root so source and target may partition differently), with the
-- columns and primary key needed to compare rows. Extension-owned tables and
-- system schemas are left out.
WITH RECURSIVE base(typid, baseid, depth) AS (
    SELECT t.oid, t.oid, 0 FROM pg_type t WHERE t.typtype <> 'd'
  UNION ALL
    SELECT d.oid, b.baseid, b.depth + 1
    FROM pg_type d JOIN base b ON d.typbasetype = b.typid
    WHERE d.typtype = 'd' AND b.depth < 10
)
SELECT c.oid::int8,
       n.nspname::text,
       c.relname::text,
       quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS display,
       c.relkind::text,
       c.relpersistence::text,
       c.reltuples::float8,
       c.relpages::int8,
       coalesce((SELECT array_agg(k.attname::text ORDER BY u.ord)
                 FROM pg_index i
                 CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS u(attnum, ord)
                 JOIN pg_attribute k ON k.attrelid = i.indrelid AND k.attnum = u.attnum
                 -- INCLUDE columns follow the indnkeyatts key columns: not part of the key.
                 WHERE i.indrelid = c.oid AND i.indisprimary AND u.ord <= i.indnkeyatts), '{}') AS pk,
       -- Without a primary key, the smallest valid, immediate, non-partial
       -- unique index on plain NOT NULL columns identifies rows just as well.
       (SELECT ui.indexrelid::regclass::text
          FROM pg_index ui
         WHERE ui.indrelid = c.oid AND ui.indisunique AND ui.indisvalid AND ui.indimmediate
           AND ui.indpred IS NULL AND ui.indexprs IS NULL AND NOT ui.indisprimary
           AND NOT EXISTS (SELECT 1 FROM unnest(ui.indkey::int2[]) WITH ORDINALITY AS u(attnum, ord)
                           JOIN pg_attribute a ON a.attrelid = ui.indrelid AND a.attnum = u.attnum
                           WHERE u.ord <= ui.indnkeyatts AND NOT a.attnotnull)
           AND NOT EXISTS (SELECT 1 FROM unnest(ui.indkey::int2[]) AS u(attnum) WHERE u.attnum = 0)
         ORDER BY ui.indnkeyatts, ui.indexrelid LIMIT 1) AS unique_index,
       coalesce((SELECT array_agg(k.attname::text ORDER BY u.ord)
                 FROM (SELECT ui.* FROM pg_index ui
                        WHERE ui.indrelid = c.oid AND ui.indisunique AND ui.indisvalid AND ui.indimmediate
                          AND ui.indpred IS NULL AND ui.indexprs IS NULL AND NOT ui.indisprimary
                          AND NOT EXISTS (SELECT 1 FROM unnest(ui.indkey::int2[]) WITH ORDINALITY AS u(attnum, ord)
                                          JOIN pg_attribute a ON a.attrelid = ui.indrelid AND a.attnum = u.attnum
                                          WHERE u.ord <= ui.indnkeyatts AND NOT a.attnotnull)
                          AND NOT EXISTS (SELECT 1 FROM unnest(ui.indkey::int2[]) AS u(attnum) WHERE u.attnum = 0)
                        ORDER BY ui.indnkeyatts, ui.indexrelid LIMIT 1) i
                 CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS u(attnum, ord)
                 JOIN pg_attribute k ON k.attrelid = i.indrelid AND k.attnum = u.attnum
                 WHERE u.ord <= i.indnkeyatts), '{}') AS unique_key,
       coalesce((SELECT json_agg(json_build_object(
                    'name', a.attname::text,
                    'type', format_type(a.atttypid, a.atttypmod),
                    'type_oid', a.atttypid::int8,
                    'is_domain', b.depth > 0,
                    'base_type', bt.typname::text,
                    'base_type_schema', btn.nspname::text,
                    -- typmod -1 given: "bpchar", "bit", "character varying", never
                    -- character/bit without a typmod, which mean char(1)/bit(1) in a cast.
                    'base_type_sql', format_type(bt.oid, -1),
                    'type_kind', bt.typtype::text,
                    'category', bt.typcategory::text,
                    'elem_type', et.typname::text,
                    'elem_schema', etn.nspname::text,
                    'not_null', a.attnotnull,
                    'generated', a.attgenerated::text,
                    'collation', CASE WHEN a.attcollation <> 0 THEN (SELECT collname::text FROM pg_collation WHERE oid = a.attcollation) END
                  ) ORDER BY a.attnum)
                 FROM pg_attribute a
                 JOIN base b ON b.typid = a.atttypid
                 JOIN pg_type bt ON bt.oid = b.baseid
                 JOIN pg_namespace btn ON btn.oid = bt.typnamespace
                 LEFT JOIN pg_type et ON et.oid = bt.typelem AND bt.typcategory = 'A'
                 LEFT JOIN pg_namespace etn ON etn.oid = et.typnamespace
                 WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '[]') AS columns
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_)'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY n.nspname, c.relname

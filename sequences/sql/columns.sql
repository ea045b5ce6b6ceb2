-- Columns that draw values from a sequence: owned by it (serial: pg_depend
-- deptype 'a'; identity: 'i'), or whose default calls nextval() on it (the
-- pg_attrdef row depends on the sequence, deptype 'n'). Unowned sequences
-- shared by several tables only show up through the second kind.
-- A partition is left out when its parent draws the same column from the same
-- sequence: max() over the parent already covers its rows.
WITH RECURSIVE links AS (
    SELECT d.objid AS seqoid, d.refobjid AS relid, d.refobjsubid::int2 AS attnum,
           CASE d.deptype WHEN 'i' THEN 'identity' ELSE 'owned' END AS link
    FROM pg_depend d
    JOIN pg_sequence s ON s.seqrelid = d.objid
    WHERE d.classid = 'pg_class'::regclass
      AND d.refclassid = 'pg_class'::regclass
      AND d.deptype IN ('a', 'i')
      AND d.refobjsubid > 0
  UNION
    SELECT d.refobjid, ad.adrelid, ad.adnum, 'default'
    FROM pg_depend d
    JOIN pg_attrdef ad ON ad.oid = d.objid
    JOIN pg_sequence s ON s.seqrelid = d.refobjid
    WHERE d.classid = 'pg_attrdef'::regclass
      AND d.refclassid = 'pg_class'::regclass
      AND d.deptype = 'n'
), cols AS (
    SELECT l.seqoid, l.relid, a.attname, array_agg(DISTINCT l.link ORDER BY l.link) AS links,
           a.atttypid
    FROM links l
    JOIN pg_attribute a ON a.attrelid = l.relid AND a.attnum = l.attnum AND NOT a.attisdropped
    GROUP BY l.seqoid, l.relid, a.attname, a.atttypid
), base(typid, baseid, depth) AS (
    SELECT t.oid, t.oid, 0 FROM pg_type t WHERE t.typtype <> 'd'
  UNION ALL
    SELECT d.oid, b.baseid, b.depth + 1
    FROM pg_type d JOIN base b ON d.typbasetype = b.typid
    WHERE d.typtype = 'd' AND b.depth < 10
)
SELECT c.seqoid::int8,
       n.nspname::text,
       r.relname::text,
       quote_ident(n.nspname) || '.' || quote_ident(r.relname) AS display,
       c.attname::text,
       c.links::text[],
       format_type(c.atttypid, NULL) AS data_type,
       bt.typname::text AS base_type
FROM cols c
JOIN pg_class r ON r.oid = c.relid
JOIN pg_namespace n ON n.oid = r.relnamespace
JOIN base b ON b.typid = c.atttypid
JOIN pg_type bt ON bt.oid = b.baseid
WHERE r.relkind IN ('r', 'p')
  AND n.nspname !~ '^pg_temp_'
  AND NOT EXISTS (SELECT 1
                  FROM pg_inherits i
                  JOIN cols p ON p.relid = i.inhparent AND p.seqoid = c.seqoid AND p.attname = c.attname
                  WHERE i.inhrelid = c.relid AND r.relispartition)
ORDER BY 1, 2, 3, 5

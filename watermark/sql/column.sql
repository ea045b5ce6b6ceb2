-- The watermark column of one table ($1 = table oid, $2 = column name): its
-- declared type, whether it is collatable, and whether its base type (under
-- any domains) has a default btree operator class, i.e. an ordering that
-- max() and <= agree on. No row: the column does not exist.
WITH RECURSIVE col AS (
    SELECT a.atttypid, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull, a.attcollation <> 0 AS collatable
    FROM pg_attribute a
    WHERE a.attrelid = $1::oid AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped
), base(typid, depth) AS (
    SELECT atttypid, 0 FROM col
  UNION ALL
    SELECT t.typbasetype, b.depth + 1
    FROM base b JOIN pg_type t ON t.oid = b.typid
    WHERE t.typtype = 'd' AND b.depth < 10
)
SELECT col.type,
       col.attnotnull,
       col.collatable,
       bt.typname::text,
       bt.typcategory::text,
       EXISTS (SELECT 1
               FROM pg_opclass o
               JOIN pg_am am ON am.oid = o.opcmethod
               WHERE am.amname = 'btree' AND o.opcdefault
                 AND (o.opcintype = bt.oid
                      OR EXISTS (SELECT 1 FROM pg_cast k
                                 WHERE k.castsource = bt.oid AND k.casttarget = o.opcintype
                                   AND k.castmethod = 'b'))) AS orderable
FROM col,
     (SELECT typid FROM base ORDER BY depth DESC LIMIT 1) b
     JOIN pg_type bt ON bt.oid = b.typid

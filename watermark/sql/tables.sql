-- Tables a --table pattern may name: plain and partitioned tables. Partitions
-- are flagged so that a glob matches only their root (whose count covers
-- them) while an exact name can still check one partition alone.
SELECT c.oid::int8,
       n.nspname::text,
       c.relname::text,
       quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS display,
       c.relispartition
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_)'
ORDER BY n.nspname, c.relname

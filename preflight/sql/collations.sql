-- Collations whose recorded version differs from what the library provides
-- now: indexes on text using them may be out of order.
SELECT quote_ident(n.nspname) || '.' || quote_ident(c.collname) AS collation,
       c.collversion::text AS recorded,
       coalesce(pg_collation_actual_version(c.oid)::text, '') AS actual
FROM pg_collation c
JOIN pg_namespace n ON n.oid = c.collnamespace
WHERE c.collversion IS NOT NULL
  AND c.collversion IS DISTINCT FROM pg_collation_actual_version(c.oid)
ORDER BY 1

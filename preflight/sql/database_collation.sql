-- The database's default collation version (15+): recorded vs provided.
SELECT datname::text,
       datcollversion::text AS recorded,
       coalesce(pg_database_collation_actual_version(oid)::text, '') AS actual
FROM pg_database
WHERE datname = current_database()
  AND datcollversion IS NOT NULL
  AND datcollversion IS DISTINCT FROM pg_database_collation_actual_version(oid)

-- Does function $1 (regprocedure text) already pin search_path?
SELECT COALESCE(pg_catalog.array_to_string(p.proconfig, ','), '') LIKE '%search_path=%'
FROM pg_catalog.pg_proc p WHERE p.oid = pg_catalog.to_regprocedure($1)

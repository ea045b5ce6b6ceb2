-- For table $1.$2 on the target: RLS on, whether role $3 may insert, and whether it bypasses RLS.
SELECT c.relrowsecurity, pg_catalog.has_table_privilege($3, c.oid, 'INSERT'),
       (SELECT rolsuper OR rolbypassrls FROM pg_catalog.pg_roles WHERE rolname = $3)
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2

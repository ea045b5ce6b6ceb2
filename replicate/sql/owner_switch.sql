-- PG 16+: can the workers of subscription $4 (owned by $3) act as the owner
-- of table $1.$2 (SET ROLE to it, unless run_as_owner), and who owns it.
SELECT pg_catalog.pg_has_role($3, c.relowner, 'SET')
       OR (SELECT s.subrunasowner FROM pg_catalog.pg_subscription s WHERE s.oid = $4),
       pg_catalog.pg_get_userbyid(c.relowner)
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2

-- Roles that own or are granted something in the user schemas of the source.
WITH owners AS (
  SELECT nspowner AS r FROM pg_catalog.pg_namespace n
   WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND nspname NOT LIKE 'pg_temp%' AND nspname NOT LIKE 'pg_toast_temp%'
  UNION SELECT c.relowner FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg_temp%'
  UNION SELECT p.proowner FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  UNION SELECT t.typowner FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
), grantees AS (
  SELECT (pg_catalog.aclexplode(c.relacl)).grantee AS r FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relacl IS NOT NULL AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  UNION SELECT (pg_catalog.aclexplode(n.nspacl)).grantee FROM pg_catalog.pg_namespace n
   WHERE n.nspacl IS NOT NULL AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  UNION SELECT (pg_catalog.aclexplode(p.proacl)).grantee FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
   WHERE p.proacl IS NOT NULL AND n.nspname NOT IN ('pg_catalog', 'information_schema')
)
SELECT a.rolname, a.rolcanlogin, a.rolsuper
FROM pg_catalog.pg_roles a
WHERE a.oid IN (SELECT r FROM owners UNION SELECT r FROM grantees)
ORDER BY a.rolname

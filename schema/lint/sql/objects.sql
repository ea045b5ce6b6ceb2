-- Relations, types and operators outside pg_catalog: what unqualified names
-- in function bodies can mean on this database. kind: r relation (sub is
-- relkind), t type (sub is typtype), o operator (sub is 1 prefix or 2 infix,
-- fn its function's oid).
SELECT 'r' AS kind, c.oid::pg_catalog.int8, n.nspname::pg_catalog.text, c.relname::pg_catalog.text,
       c.relkind::pg_catalog.text AS sub, 0::pg_catalog.int8 AS fn
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  AND n.nspname <> 'pg_catalog' AND n.nspname !~ '^pg_(toast|temp_)'
UNION ALL
SELECT 't', t.oid::pg_catalog.int8, n.nspname::pg_catalog.text, t.typname::pg_catalog.text,
       t.typtype::pg_catalog.text, 0
FROM pg_catalog.pg_type t
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname <> 'pg_catalog' AND n.nspname !~ '^pg_(toast|temp_)'
UNION ALL
SELECT 'o', o.oid::pg_catalog.int8, n.nspname::pg_catalog.text, o.oprname::pg_catalog.text,
       CASE WHEN o.oprleft = 0 THEN '1' ELSE '2' END, o.oprcode::pg_catalog.oid::pg_catalog.int8
FROM pg_catalog.pg_operator o
JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
WHERE n.nspname <> 'pg_catalog' AND n.nspname !~ '^pg_temp_'
ORDER BY 1, 3, 4, 2

-- CHECK constraints of domains. NOT NULL is the domain's not_null (PG 17+
-- also stores it as a constraint row, which is left out here).
SELECT 'domain constraint' AS object_type,
       {{qname "n.nspname" "t.typname"}} || '.' || quote_ident(con.conname) AS name,
       ARRAY['type ' || {{qname "n.nspname" "t.typname"}}] AS parents,
       json_build_object(
           'definition', pg_get_constraintdef(con.oid),
           'validated', con.convalidated
       ) AS attrs
FROM pg_constraint con
JOIN pg_type t ON t.oid = con.contypid
JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE con.contypid <> 0
  AND con.contype = 'c'
  AND {{userSchema "n.nspname"}}
  AND {{notExtension "pg_type" "t.oid"}}
ORDER BY 2

-- Table constraints: primary key, unique, foreign key, check, exclusion.
-- Left out: copies a partition or child inherits from its parent (they
-- follow the parent's and cannot be changed alone), NOT NULL rows of PG 18
-- (compared as column not_null) and constraint triggers (compared as
-- triggers).
SELECT 'constraint' AS object_type,
       {{qname "n.nspname" "c.relname"}} || '.' || quote_ident(con.conname) AS name,
       ARRAY['table ' || {{qname "n.nspname" "c.relname"}}] AS parents,
       json_build_object(
           'type', CASE con.contype WHEN 'p' THEN 'primary key' WHEN 'u' THEN 'unique' WHEN 'f' THEN 'foreign key'
                                    WHEN 'c' THEN 'check' WHEN 'x' THEN 'exclusion' ELSE con.contype::text END,
           'definition', pg_get_constraintdef(con.oid),
           'deferrable', CASE WHEN NOT con.condeferrable THEN 'not deferrable'
                              WHEN con.condeferred THEN 'deferrable initially deferred'
                              ELSE 'deferrable initially immediate' END,
           'validated', con.convalidated
       ) AS attrs
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE con.contype IN ('p', 'u', 'f', 'c', 'x')
  AND con.conparentid = 0
  AND (con.conislocal OR con.coninhcount = 0)
  AND c.relkind IN ('r', 'p')
  AND {{userSchema "n.nspname"}}
  AND {{notExtension "pg_class" "c.oid"}}
ORDER BY 2

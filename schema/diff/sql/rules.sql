-- Rewrite rules (CREATE RULE ... DO [INSTEAD|ALSO] ...) other than the
-- _RETURN rules that implement views: they change what a write does.
SELECT 'rule' AS object_type,
       {{qname "n.nspname" "c.relname"}} || '.' || quote_ident(r.rulename) AS name,
       ARRAY[CASE c.relkind WHEN 'v' THEN 'view ' WHEN 'm' THEN 'materialized view ' ELSE 'table ' END
             || {{qname "n.nspname" "c.relname"}}] AS parents,
       json_build_object(
           'definition', pg_get_ruledef(r.oid),
           'enabled', CASE r.ev_enabled WHEN 'O' THEN 'enabled' WHEN 'D' THEN 'disabled'
                                        WHEN 'R' THEN 'replica' WHEN 'A' THEN 'always' END
       ) AS attrs
FROM pg_rewrite r
JOIN pg_class c ON c.oid = r.ev_class
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE r.rulename <> '_RETURN'
  AND {{userSchema "n.nspname"}}
  AND {{notExtension "pg_class" "c.oid"}}
ORDER BY 2

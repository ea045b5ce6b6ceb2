-- Views and materialized views. Whether a materialized view is populated
-- is data, not schema, and is not compared.
SELECT CASE c.relkind WHEN 'v' THEN 'view' ELSE 'materialized view' END AS object_type,
       {{qname "n.nspname" "c.relname"}} AS name,
       ARRAY['schema ' || quote_ident(n.nspname)] AS parents,
       json_build_object(
           'definition', pg_get_viewdef(c.oid),
           'options', (SELECT json_agg(o ORDER BY o) FROM unnest(c.reloptions) o),
           'owner', pg_get_userbyid(c.relowner)::text,
           'acl', {{acl "c.relacl" "'r'" "c.relowner"}}
       ) AS attrs
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm')
  AND {{userSchema "n.nspname"}}
  AND {{notExtension "pg_class" "c.oid"}}
ORDER BY 2

-- Row level security policies. Whether RLS is enabled or forced is the
-- table's row_security.
SELECT 'policy' AS object_type,
       {{qname "n.nspname" "c.relname"}} || '.' || quote_ident(p.polname) AS name,
       ARRAY['table ' || {{qname "n.nspname" "c.relname"}}] AS parents,
       json_build_object(
           'command', CASE p.polcmd WHEN '*' THEN 'ALL' WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT'
                                    WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' END,
           'permissive', CASE WHEN p.polpermissive THEN 'permissive' ELSE 'restrictive' END,
           'roles', (SELECT json_agg(CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(r)::text END ORDER BY 1)
                     FROM unnest(p.polroles) r),
           'using', pg_get_expr(p.polqual, p.polrelid),
           'with_check', pg_get_expr(p.polwithcheck, p.polrelid)
       ) AS attrs
FROM pg_policy p
JOIN pg_class c ON c.oid = p.polrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {{userSchema "n.nspname"}}
  AND {{notExtension "pg_class" "c.oid"}}
ORDER BY 2

-- Schemas holding user objects (system schemas and schemas an extension
-- owns are left out).
SELECT 'schema' AS object_type,
       quote_ident(n.nspname) AS name,
       '{}'::text[] AS parents,
       json_build_object(
           'owner', pg_get_userbyid(n.nspowner)::text,
           'acl', {{acl "n.nspacl" "'n'" "n.nspowner"}}
       ) AS attrs
FROM pg_namespace n
WHERE {{userSchema "n.nspname"}}
  AND {{notExtension "pg_namespace" "n.oid"}}
ORDER BY 2

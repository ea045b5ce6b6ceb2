-- Installed extensions. Their member objects are left out of every other
-- query: they come with the extension, and majors ship different versions.
SELECT 'extension' AS object_type,
       quote_ident(e.extname) AS name,
       '{}'::text[] AS parents,
       json_build_object(
           'version', e.extversion::text,
           'schema', quote_ident(n.nspname)
       ) AS attrs
FROM pg_extension e
JOIN pg_namespace n ON n.oid = e.extnamespace
ORDER BY 2

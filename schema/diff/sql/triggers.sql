-- User triggers (constraint triggers included). Triggers a partition
-- inherits from its partitioned parent are listed too: their enabled state
-- can be changed on the partition alone.
SELECT 'trigger' AS object_type,
       {{qname "n.nspname" "c.relname"}} || '.' || quote_ident(t.tgname) AS name,
       ARRAY['table ' || {{qname "n.nspname" "c.relname"}}]
         || coalesce((SELECT array_agg('trigger ' || {{qname "pn.nspname" "pc.relname"}} || '.' || quote_ident(pt.tgname))
                      FROM pg_trigger pt JOIN pg_class pc ON pc.oid = pt.tgrelid
                      JOIN pg_namespace pn ON pn.oid = pc.relnamespace
                      WHERE pt.oid = t.tgparentid), '{}') AS parents,
       json_build_object(
           'definition', pg_get_triggerdef(t.oid),
           'enabled', CASE t.tgenabled WHEN 'O' THEN 'enabled' WHEN 'D' THEN 'disabled'
                                       WHEN 'R' THEN 'replica' WHEN 'A' THEN 'always' END
       ) AS attrs
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT t.tgisinternal
  AND {{userSchema "n.nspname"}}
  AND {{notExtension "pg_class" "c.oid"}}
ORDER BY 2

-- Plain and partitioned tables, partitions included. columns lists the
-- column names in attnum order: the diff compares the relative order of the
-- columns both sides have.
SELECT 'table' AS object_type,
       {{qname "n.nspname" "c.relname"}} AS name,
       ARRAY['schema ' || quote_ident(n.nspname)]
         || coalesce((SELECT array_agg('table ' || {{qname "pn.nspname" "pc.relname"}})
                      FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent
                      JOIN pg_namespace pn ON pn.oid = pc.relnamespace
                      WHERE i.inhrelid = c.oid AND c.relispartition), '{}') AS parents,
       json_build_object(
           'kind', CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table' END,
           'persistence', CASE c.relpersistence WHEN 'p' THEN 'permanent' WHEN 'u' THEN 'unlogged' WHEN 't' THEN 'temporary' END,
           'partition_key', CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
           'partition_of', (SELECT {{qname "pn.nspname" "pc.relname"}}
                            FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent
                            JOIN pg_namespace pn ON pn.oid = pc.relnamespace
                            WHERE i.inhrelid = c.oid AND c.relispartition),
           'partition_bound', CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END,
           'inherits', (SELECT json_agg({{qname "pn.nspname" "pc.relname"}} ORDER BY i.inhseqno)
                        FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent
                        JOIN pg_namespace pn ON pn.oid = pc.relnamespace
                        WHERE i.inhrelid = c.oid AND NOT c.relispartition),
           'replica_identity', CASE c.relreplident
               WHEN 'd' THEN 'default' WHEN 'n' THEN 'nothing' WHEN 'f' THEN 'full'
               WHEN 'i' THEN 'index ' || coalesce((SELECT quote_ident(ic.relname) FROM pg_index x
                                                   JOIN pg_class ic ON ic.oid = x.indexrelid
                                                   WHERE x.indrelid = c.oid AND x.indisreplident), '(none)')
               END,
           'row_security', CASE WHEN c.relrowsecurity AND c.relforcerowsecurity THEN 'enabled, forced'
                                WHEN c.relrowsecurity THEN 'enabled'
                                WHEN c.relforcerowsecurity THEN 'disabled, forced'
                                ELSE 'disabled' END,
           'access_method', (SELECT am.amname::text FROM pg_am am WHERE am.oid = c.relam),
           'options', (SELECT json_agg(o ORDER BY o) FROM unnest(c.reloptions) o),
           'columns', (SELECT json_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a
                       WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
           'owner', pg_get_userbyid(c.relowner)::text,
           'acl', {{acl "c.relacl" "'r'" "c.relowner"}}
       ) AS attrs
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND {{userSchema "n.nspname"}}
  AND {{notExtension "pg_class" "c.oid"}}
ORDER BY 2

-- User-defined types: enums (labels in order), domains, composites, ranges
-- and base types. Array, row, multirange and other implicit types are left
-- out: they exist with the object that implies them.
SELECT 'type' AS object_type,
       {{qname "n.nspname" "t.typname"}} AS name,
       ARRAY['schema ' || quote_ident(n.nspname)] AS parents,
       json_build_object(
           'kind', CASE t.typtype WHEN 'e' THEN 'enum' WHEN 'd' THEN 'domain' WHEN 'c' THEN 'composite'
                                  WHEN 'r' THEN 'range' WHEN 'b' THEN 'base' ELSE t.typtype::text END,
           'labels', CASE WHEN t.typtype = 'e' THEN
               (SELECT json_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid) END,
           'base_type', CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END,
           'not_null', CASE WHEN t.typtype = 'd' THEN t.typnotnull END,
           'default', CASE WHEN t.typtype = 'd' THEN pg_get_expr(t.typdefaultbin, 0) END,
           'attributes', CASE WHEN t.typtype = 'c' THEN
               (SELECT json_agg(quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod)
                                || CASE WHEN a.attcollation <> 0 AND a.attcollation <> at.typcollation
                                        THEN ' COLLATE ' || (SELECT CASE WHEN cn.nspname = 'pg_catalog' THEN quote_ident(co.collname)
                                                                         ELSE {{qname "cn.nspname" "co.collname"}} END
                                                             FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
                                                             WHERE co.oid = a.attcollation)
                                        ELSE '' END
                                ORDER BY a.attnum)
                FROM pg_attribute a JOIN pg_type at ON at.oid = a.atttypid
                WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) END,
           'subtype', CASE WHEN t.typtype = 'r' THEN (SELECT format_type(r.rngsubtype, NULL) FROM pg_range r WHERE r.rngtypid = t.oid) END,
           'subtype_opclass', CASE WHEN t.typtype = 'r' THEN
               (SELECT {{qname "ocn.nspname" "oc.opcname"}} FROM pg_range r JOIN pg_opclass oc ON oc.oid = r.rngsubopc
                JOIN pg_namespace ocn ON ocn.oid = oc.opcnamespace WHERE r.rngtypid = t.oid) END,
           'canonical', CASE WHEN t.typtype = 'r' THEN (SELECT nullif(r.rngcanonical, 0)::regproc::text FROM pg_range r WHERE r.rngtypid = t.oid) END,
           'subtype_diff', CASE WHEN t.typtype = 'r' THEN (SELECT nullif(r.rngsubdiff, 0)::regproc::text FROM pg_range r WHERE r.rngtypid = t.oid) END,
           'collation', CASE WHEN t.typcollation <> 0 AND t.typtype IN ('d', 'r') THEN
               (SELECT CASE WHEN cn.nspname = 'pg_catalog' THEN quote_ident(co.collname) ELSE {{qname "cn.nspname" "co.collname"}} END
                FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = t.typcollation) END,
           'input', CASE WHEN t.typtype = 'b' THEN t.typinput::regproc::text END,
           'output', CASE WHEN t.typtype = 'b' THEN t.typoutput::regproc::text END,
           'owner', pg_get_userbyid(t.typowner)::text,
           'acl', {{acl "t.typacl" "'T'" "t.typowner"}}
       ) AS attrs
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE {{userSchema "n.nspname"}}
  AND t.typtype IN ('b', 'c', 'd', 'e', 'r')
  AND (t.typtype <> 'c' OR EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind = 'c'))
  AND NOT EXISTS (SELECT 1 FROM pg_type a WHERE a.typarray = t.oid)
  AND {{notExtension "pg_type" "t.oid"}}
  AND {{notInternal "pg_type" "t.oid"}}
ORDER BY 2

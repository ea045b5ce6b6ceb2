-- Columns of tables (partitions included: their defaults and NOT NULL may
-- differ from the parent's). type is the type without typmod, typmod the
-- full declared type. identity is not reported for a partition column whose
-- parent column is an identity: it follows the parent's, and PG 17+ copies
-- it into the partition's row where older majors do not.
SELECT 'column' AS object_type,
       {{qname "n.nspname" "c.relname"}} || '.' || quote_ident(a.attname) AS name,
       ARRAY['table ' || {{qname "n.nspname" "c.relname"}}] AS parents,
       json_build_object(
           'type', format_type(a.atttypid, NULL),
           'typmod', format_type(a.atttypid, a.atttypmod),
           'not_null', a.attnotnull,
           'default', CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END,
           'generated', CASE WHEN a.attgenerated <> '' THEN pg_get_expr(d.adbin, d.adrelid) END,
           'generated_kind', CASE a.attgenerated WHEN 's' THEN 'stored' WHEN 'v' THEN 'virtual' END,
           'identity', CASE WHEN pa.attidentity IS NOT NULL AND pa.attidentity <> '' THEN NULL
                            ELSE CASE a.attidentity WHEN 'a' THEN 'always' WHEN 'd' THEN 'by default' END END,
           'collation', CASE WHEN a.attcollation <> 0 THEN
               (SELECT CASE WHEN cn.nspname = 'pg_catalog' THEN quote_ident(co.collname) ELSE {{qname "cn.nspname" "co.collname"}} END
                FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation) END,
           'acl', {{acl "a.attacl" "'c'" "c.relowner"}}
       ) AS attrs
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN LATERAL (SELECT p.attidentity FROM pg_inherits i
                   JOIN pg_attribute p ON p.attrelid = i.inhparent AND p.attname = a.attname
                   WHERE i.inhrelid = c.oid AND c.relispartition) pa ON true
WHERE c.relkind IN ('r', 'p')
  AND a.attnum > 0
  AND NOT a.attisdropped
  AND {{userSchema "n.nspname"}}
  AND {{notExtension "pg_class" "c.oid"}}
ORDER BY 2

-- Sequence definitions, not their values (pgverify sequences compares
-- those). owned_by links serial and identity sequences to their column.
SELECT 'sequence' AS object_type,
       {{qname "n.nspname" "c.relname"}} AS name,
       ARRAY['schema ' || quote_ident(n.nspname)]
         || coalesce((SELECT array_agg('table ' || {{qname "tn.nspname" "tc.relname"}})
                      FROM pg_depend d JOIN pg_class tc ON tc.oid = d.refobjid
                      JOIN pg_namespace tn ON tn.oid = tc.relnamespace
                      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                        AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')), '{}') AS parents,
       json_build_object(
           'type', format_type(s.seqtypid, NULL),
           'start', s.seqstart::text,
           'increment', s.seqincrement::text,
           'min', s.seqmin::text,
           'max', s.seqmax::text,
           'cache', s.seqcache::text,
           'cycle', s.seqcycle,
           'owned_by', (SELECT {{qname "tn.nspname" "tc.relname"}} || '.' || quote_ident(a.attname)
                                || CASE WHEN d.deptype = 'i' THEN ' (identity)' ELSE '' END
                        FROM pg_depend d
                        JOIN pg_class tc ON tc.oid = d.refobjid
                        JOIN pg_namespace tn ON tn.oid = tc.relnamespace
                        JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                          AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0
                          AND d.deptype IN ('a', 'i')
                        LIMIT 1),
           'owner', pg_get_userbyid(c.relowner)::text,
           'acl', {{acl "c.relacl" "'s'" "c.relowner"}}
       ) AS attrs
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_sequence s ON s.seqrelid = c.oid
WHERE c.relkind = 'S'
  AND {{userSchema "n.nspname"}}
  AND {{notExtension "pg_class" "c.oid"}}
ORDER BY 2

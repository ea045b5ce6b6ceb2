-- Functions and procedures outside pg_catalog, with what the rules need.
-- pg_get_functiondef() gives the CREATE statement that file mode reads, so
-- both modes share one body analysis. Aggregates and C functions have no
-- text body to check.
SELECT p.oid::pg_catalog.int8,
       n.nspname::pg_catalog.text,
       p.proname::pg_catalog.text,
       p.oid::pg_catalog.regprocedure::pg_catalog.text AS ident,
       p.prokind::pg_catalog.text,
       l.lanname::pg_catalog.text,
       p.prosecdef,
       COALESCE(p.proconfig, '{}')::pg_catalog.text[] AS proconfig,
       p.pronargs::pg_catalog.int4,
       p.pronargdefaults::pg_catalog.int4,
       p.provariadic <> 0 AS variadic,
       CASE WHEN p.prokind IN ('f', 'p') AND l.lanname IN ('sql', 'plpgsql')
            THEN pg_catalog.pg_get_functiondef(p.oid) END AS def,
       CASE WHEN l.lanname IN ('sql', 'plpgsql') THEN p.prosrc END AS prosrc,
       COALESCE((SELECT e.extname::pg_catalog.text
                 FROM pg_catalog.pg_depend d
                 JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid
                 WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
                   AND d.objid = p.oid
                   AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
                   AND d.deptype = 'e'
                 LIMIT 1), '') AS extension
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
JOIN pg_catalog.pg_language l ON l.oid = p.prolang
WHERE n.nspname <> 'pg_catalog'
  AND n.nspname <> 'information_schema'
  AND n.nspname !~ '^pg_(toast|temp_)'
ORDER BY n.nspname, p.proname, p.oid

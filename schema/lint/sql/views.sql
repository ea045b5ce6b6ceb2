-- What each view and materialized view's query depends on (functions,
-- operators as their function, relations), for walking from a
-- materialized view or a function body through views to more functions.
SELECT r.ev_class::pg_catalog.int8 AS view_oid,
       CASE WHEN d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass THEN 'r' ELSE 'f' END AS ref_kind,
       (CASE WHEN d.refclassid = 'pg_catalog.pg_operator'::pg_catalog.regclass
             THEN (SELECT o.oprcode::pg_catalog.oid FROM pg_catalog.pg_operator o WHERE o.oid = d.refobjid)
             ELSE d.refobjid END)::pg_catalog.int8 AS ref_oid
FROM pg_catalog.pg_rewrite r
JOIN pg_catalog.pg_class c ON c.oid = r.ev_class AND c.relkind IN ('v', 'm')
JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid = r.oid
WHERE d.refclassid IN ('pg_catalog.pg_proc'::pg_catalog.regclass,
                       'pg_catalog.pg_operator'::pg_catalog.regclass,
                       'pg_catalog.pg_class'::pg_catalog.regclass)
  AND d.deptype = 'n'
  AND d.refobjid <> r.ev_class
ORDER BY 1, 2, 3

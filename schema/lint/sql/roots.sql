-- Everything that runs function code inside the logical replication apply
-- and table-sync workers, a restore, or PG 17 maintenance, with the
-- functions and relations it depends on (pg_depend; an operator counts as
-- its function). One row per dependency; ENABLE ALWAYS/REPLICA triggers add
-- their trigger function. Same query for PG 13 to 17.
WITH deps AS (
    SELECT d.classid, d.objid,
           CASE WHEN d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass THEN 'r' ELSE 'f' END AS ref_kind,
           CASE WHEN d.refclassid = 'pg_catalog.pg_operator'::pg_catalog.regclass
                THEN (SELECT o.oprcode::pg_catalog.oid FROM pg_catalog.pg_operator o WHERE o.oid = d.refobjid)
                ELSE d.refobjid END AS ref_oid
    FROM pg_catalog.pg_depend d
    WHERE d.refclassid IN ('pg_catalog.pg_proc'::pg_catalog.regclass,
                           'pg_catalog.pg_operator'::pg_catalog.regclass,
                           'pg_catalog.pg_class'::pg_catalog.regclass)
      AND d.deptype IN ('n', 'a')
      AND d.classid IN ('pg_catalog.pg_constraint'::pg_catalog.regclass,
                        'pg_catalog.pg_attrdef'::pg_catalog.regclass,
                        'pg_catalog.pg_class'::pg_catalog.regclass,
                        'pg_catalog.pg_trigger'::pg_catalog.regclass,
                        'pg_catalog.pg_rewrite'::pg_catalog.regclass,
                        'pg_catalog.pg_type'::pg_catalog.regclass,
                        'pg_catalog.pg_statistic_ext'::pg_catalog.regclass)
), roots AS (
    SELECT 'check' AS kind,
           pg_catalog.format('CHECK constraint %I on %s', c.conname, c.conrelid::pg_catalog.regclass) AS descr,
           c.conrelid::pg_catalog.regclass::pg_catalog.text AS tbl,
           'pg_catalog.pg_constraint'::pg_catalog.regclass AS classid, c.oid AS objid
    FROM pg_catalog.pg_constraint c
    WHERE c.contype = 'c' AND c.conrelid <> 0
    UNION ALL
    SELECT 'domain_check',
           pg_catalog.format('CHECK constraint %I on domain %s', c.conname, c.contypid::pg_catalog.regtype),
           c.contypid::pg_catalog.regtype::pg_catalog.text,
           'pg_catalog.pg_constraint'::pg_catalog.regclass, c.oid
    FROM pg_catalog.pg_constraint c
    WHERE c.contype = 'c' AND c.contypid <> 0
    UNION ALL
    SELECT CASE WHEN a.attgenerated = 's' THEN 'generated' ELSE 'default' END,
           CASE WHEN a.attgenerated = 's'
                THEN pg_catalog.format('generated column %I on %s', a.attname, ad.adrelid::pg_catalog.regclass)
                ELSE pg_catalog.format('DEFAULT of column %I on %s', a.attname, ad.adrelid::pg_catalog.regclass) END,
           ad.adrelid::pg_catalog.regclass::pg_catalog.text,
           'pg_catalog.pg_attrdef'::pg_catalog.regclass, ad.oid
    FROM pg_catalog.pg_attrdef ad
    JOIN pg_catalog.pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
    UNION ALL
    SELECT 'default', pg_catalog.format('DEFAULT of domain %s', t.oid::pg_catalog.regtype),
           t.oid::pg_catalog.regtype::pg_catalog.text,
           'pg_catalog.pg_type'::pg_catalog.regclass, t.oid
    FROM pg_catalog.pg_type t
    WHERE t.typtype = 'd' AND t.typdefaultbin IS NOT NULL
    UNION ALL
    SELECT 'index',
           pg_catalog.format('index %s on %s', i.indexrelid::pg_catalog.regclass, i.indrelid::pg_catalog.regclass),
           i.indrelid::pg_catalog.regclass::pg_catalog.text,
           'pg_catalog.pg_class'::pg_catalog.regclass, i.indexrelid
    FROM pg_catalog.pg_index i
    WHERE i.indexprs IS NOT NULL OR i.indpred IS NOT NULL
    UNION ALL
    SELECT 'trigger',
           pg_catalog.format('ENABLE %s trigger %I on %s',
                             CASE t.tgenabled WHEN 'A' THEN 'ALWAYS' ELSE 'REPLICA' END,
                             t.tgname, t.tgrelid::pg_catalog.regclass),
           t.tgrelid::pg_catalog.regclass::pg_catalog.text,
           'pg_catalog.pg_trigger'::pg_catalog.regclass, t.oid
    FROM pg_catalog.pg_trigger t
    WHERE t.tgenabled IN ('A', 'R') AND NOT t.tgisinternal
    UNION ALL
    SELECT 'matview', pg_catalog.format('materialized view %s', m.oid::pg_catalog.regclass),
           m.oid::pg_catalog.regclass::pg_catalog.text,
           'pg_catalog.pg_rewrite'::pg_catalog.regclass, r.oid
    FROM pg_catalog.pg_class m
    JOIN pg_catalog.pg_rewrite r ON r.ev_class = m.oid
    WHERE m.relkind = 'm'
    UNION ALL
    SELECT 'stats',
           pg_catalog.format('statistics %I.%I on %s', n.nspname, s.stxname, s.stxrelid::pg_catalog.regclass),
           s.stxrelid::pg_catalog.regclass::pg_catalog.text,
           'pg_catalog.pg_statistic_ext'::pg_catalog.regclass, s.oid
    FROM pg_catalog.pg_statistic_ext s
    JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace
)
SELECT r.kind, r.descr, r.tbl, d.ref_kind, d.ref_oid::pg_catalog.int8
FROM roots r
JOIN deps d ON d.classid = r.classid AND d.objid = r.objid
WHERE d.ref_oid IS NOT NULL
UNION ALL
SELECT 'trigger',
       pg_catalog.format('ENABLE %s trigger %I on %s',
                         CASE t.tgenabled WHEN 'A' THEN 'ALWAYS' ELSE 'REPLICA' END,
                         t.tgname, t.tgrelid::pg_catalog.regclass),
       t.tgrelid::pg_catalog.regclass::pg_catalog.text, 'f', t.tgfoid::pg_catalog.int8
FROM pg_catalog.pg_trigger t
WHERE t.tgenabled IN ('A', 'R') AND NOT t.tgisinternal
ORDER BY 1, 2, 4, 5

-- Functions the logical-replication apply worker runs with search_path = ''
-- (pg_catalog only) whose bodies name user objects without a schema.
--
-- Expressions store OIDs, so defaults, CHECK and domain constraints, index
-- expressions and trigger→function links are safe in themselves; what breaks
-- is a name looked up at run time inside a function body they reach
-- (Instant's outage: a CHECK calling a function that called another one
-- unqualified). Bodies are text, so the walk from function to function and
-- the "unqualified name" test match user object names as words in the body
-- that are not preceded by a dot: a heuristic, reported as "may fail".
-- Functions pinned with SET search_path, and C/internal functions, are safe.
WITH RECURSIVE
user_fn AS (
  SELECT p.oid, p.proname::text AS name
  FROM pg_proc p
  JOIN pg_namespace n ON n.oid = p.pronamespace
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname !~ '^pg_(toast|temp_)'
),
-- Names of user objects a body could refer to, minus names that also exist
-- in pg_catalog (an unqualified call then still resolves there).
user_names(name) AS (
  SELECT name FROM user_fn
  UNION
  SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
    AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_)'
  UNION
  SELECT t.typname::text FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
  WHERE t.typtype IN ('b', 'd', 'e', 'r', 'c') AND t.typcategory <> 'A'
    AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')
    AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_)'
  EXCEPT
  (SELECT proname::text FROM pg_proc WHERE pronamespace = 'pg_catalog'::regnamespace
   UNION SELECT relname::text FROM pg_class WHERE relnamespace = 'pg_catalog'::regnamespace
   UNION SELECT typname::text FROM pg_type WHERE typnamespace = 'pg_catalog'::regnamespace)
),
names AS (
  SELECT u.name,
         regexp_replace(u.name, '([.^$*+?()\[\]{}|\\-])', '\\\1', 'g') AS re,
         EXISTS (SELECT 1 FROM pg_get_keywords() k WHERE k.word = u.name AND k.catcode IN ('R', 'T')) AS reserved
  FROM user_names u
),
-- Where the apply worker runs user functions: expressions of defaults and
-- generated columns, CHECK and domain constraints, index expressions and
-- predicates (directly or through an operator), and ENABLE ALWAYS/REPLICA
-- triggers (ordinary triggers do not fire in the apply worker).
direct(fn, via) AS (
  SELECT CASE WHEN d.refclassid = 'pg_proc'::regclass THEN d.refobjid
              ELSE (SELECT o.oprcode::oid FROM pg_operator o WHERE o.oid = d.refobjid) END,
         pg_describe_object(d.classid, d.objid, d.objsubid)
  FROM pg_depend d
  WHERE d.refclassid IN ('pg_proc'::regclass, 'pg_operator'::regclass)
    AND (d.classid IN ('pg_attrdef'::regclass, 'pg_constraint'::regclass)
         OR (d.classid = 'pg_class'::regclass
             AND (SELECT c.relkind FROM pg_class c WHERE c.oid = d.objid) IN ('i', 'I')))
  UNION
  SELECT t.tgfoid, pg_describe_object('pg_trigger'::regclass, t.oid, 0)
  FROM pg_trigger t
  WHERE NOT t.tgisinternal AND t.tgenabled IN ('A', 'R')
),
-- Functions reachable from those: called by name in a reachable body, or a
-- recorded dependency (BEGIN ATOMIC bodies, 14+).
reach(fn, via) AS (
  SELECT d.fn, d.via FROM direct d JOIN user_fn u ON u.oid = d.fn
  UNION
  SELECT callee.oid, r.fn::regprocedure::text
  FROM reach r
  JOIN pg_proc caller ON caller.oid = r.fn
  JOIN user_fn callee ON callee.oid <> caller.oid
   AND (caller.prosrc ~* ('\m' || regexp_replace(callee.name, '([.^$*+?()\[\]{}|\\-])', '\\\1', 'g') || '\M')
        OR EXISTS (SELECT 1 FROM pg_depend d
                   WHERE d.classid = 'pg_proc'::regclass AND d.objid = caller.oid
                     AND d.refclassid = 'pg_proc'::regclass AND d.refobjid = callee.oid))
)
SELECT p.oid::regprocedure::text AS function,
       l.lanname::text AS language,
       (SELECT array_agg(DISTINCT r2.via ORDER BY r2.via) FROM reach r2 WHERE r2.fn = p.oid) AS via,
       array_agg(DISTINCT nm.name ORDER BY nm.name) AS unqualified
FROM (SELECT DISTINCT fn FROM reach) r
JOIN pg_proc p ON p.oid = r.fn
JOIN pg_language l ON l.oid = p.prolang
JOIN names nm
  ON (NOT nm.reserved AND p.prosrc ~* ('(^|[^.\w"$])' || nm.re || '\M'))
  OR p.prosrc ~ ('(^|[^.])"' || nm.re || '"')
WHERE l.lanname NOT IN ('c', 'internal')
  AND NOT EXISTS (SELECT 1 FROM unnest(coalesce(p.proconfig, '{}')) s WHERE s LIKE 'search\_path=%')
GROUP BY p.oid, l.lanname
ORDER BY 1

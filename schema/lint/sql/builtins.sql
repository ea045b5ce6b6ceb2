-- What pg_catalog provides, by name: the names an empty search_path still
-- resolves. Used to generate builtins/pgNN.txt from real servers and, in
-- --db mode, read from the live server (extensions installed into
-- pg_catalog included). kind: f function (min/max arguments, max -1 when
-- variadic), t type, o operator, r relation.
SELECT 'f' AS kind, p.proname::text AS name,
       (p.pronargs - p.pronargdefaults)::int AS min_args,
       (CASE WHEN p.provariadic <> 0 THEN -1 ELSE p.pronargs END)::int AS max_args
FROM pg_catalog.pg_proc p
WHERE p.pronamespace = 'pg_catalog'::pg_catalog.regnamespace
UNION
SELECT 't', t.typname::text, 0, 0
FROM pg_catalog.pg_type t
WHERE t.typnamespace = 'pg_catalog'::pg_catalog.regnamespace
UNION
SELECT 'o', o.oprname::text, 0, 0
FROM pg_catalog.pg_operator o
WHERE o.oprnamespace = 'pg_catalog'::pg_catalog.regnamespace
UNION
SELECT 'r', c.relname::text, 0, 0
FROM pg_catalog.pg_class c
WHERE c.relnamespace = 'pg_catalog'::pg_catalog.regnamespace
  AND c.relkind IN ('r', 'v', 'm', 'S', 'f', 'p')
ORDER BY 1, 2, 3, 4

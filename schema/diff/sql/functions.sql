-- Functions, procedures, aggregates and window functions, keyed by their
-- signature. body is prosrc, compared exactly; for SQL-standard bodies
-- (BEGIN ATOMIC / RETURN, PG 14+) it is the deparsed body, compared as a
-- parse tree (body_sql_standard says which).
SELECT 'function' AS object_type,
       p.oid::regprocedure::text AS name,
       ARRAY['schema ' || quote_ident(n.nspname)] AS parents,
       json_build_object(
           'kind', CASE p.prokind WHEN 'f' THEN 'function' WHEN 'p' THEN 'procedure'
                                  WHEN 'a' THEN 'aggregate' WHEN 'w' THEN 'window function' END,
           'arguments', pg_get_function_arguments(p.oid),
           'result', pg_get_function_result(p.oid),
           'language', l.lanname::text,
{{- if .PG14}}
           'body', CASE WHEN p.prosqlbody IS NOT NULL THEN pg_get_function_sqlbody(p.oid)
                        WHEN p.prokind <> 'a' THEN p.prosrc END,
           'body_sql_standard', p.prosqlbody IS NOT NULL,
{{- else}}
           'body', CASE WHEN p.prokind <> 'a' THEN p.prosrc END,
           'body_sql_standard', false,
{{- end}}
           'library', p.probin,
           'aggregate', (SELECT concat_ws(', ',
                                'sfunc=' || a.aggtransfn::regproc::text,
                                'stype=' || format_type(a.aggtranstype, NULL),
                                'finalfunc=' || nullif(a.aggfinalfn, 0)::regproc::text,
                                'combinefunc=' || nullif(a.aggcombinefn, 0)::regproc::text,
                                'initcond=' || quote_literal(a.agginitval),
                                'sortop=' || nullif(a.aggsortop, 0)::regoperator::text,
                                'kind=' || a.aggkind::text)
                         FROM pg_aggregate a WHERE a.aggfnoid = p.oid),
           'volatility', CASE p.provolatile WHEN 'i' THEN 'immutable' WHEN 's' THEN 'stable' WHEN 'v' THEN 'volatile' END,
           'strict', p.proisstrict,
           'security', CASE WHEN p.prosecdef THEN 'definer' ELSE 'invoker' END,
           'leakproof', p.proleakproof,
           'parallel', CASE p.proparallel WHEN 's' THEN 'safe' WHEN 'r' THEN 'restricted' WHEN 'u' THEN 'unsafe' END,
           'cost', p.procost::text,
           'rows', p.prorows::text,
           'config', to_json(p.proconfig),
           'owner', pg_get_userbyid(p.proowner)::text,
           'acl', {{acl "p.proacl" "'f'" "p.proowner"}}
       ) AS attrs
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE {{userSchema "n.nspname"}}
  AND {{notExtension "pg_proc" "p.oid"}}
  AND {{notInternal "pg_proc" "p.oid"}}
ORDER BY 2

-- Every user sequence with its parameters (pg_sequence, PostgreSQL 10+).
-- Values are read separately with SELECT last_value, is_called FROM seq:
-- pg_sequences.last_value is NULL both when the sequence was never called and
-- when we lack privilege, and it hides the value set by setval(s, v, false).
-- Extension members and temporary schemas are left out.
SELECT c.oid::int8,
       n.nspname::text,
       c.relname::text,
       quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS display,
       format_type(s.seqtypid, NULL) AS data_type,
       s.seqstart,
       s.seqincrement,
       s.seqmin,
       s.seqmax,
       s.seqcycle,
       has_sequence_privilege(c.oid, 'SELECT') AS readable
FROM pg_sequence s
JOIN pg_class c ON c.oid = s.seqrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_)'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY n.nspname, c.relname

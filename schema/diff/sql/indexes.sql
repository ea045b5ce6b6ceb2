-- Indexes of tables and materialized views, except those that implement a
-- primary key, unique or exclusion constraint (compared as the
-- constraint). definition is parsed for the columns, INCLUDE list and
-- predicate; it is not compared as a whole.
SELECT 'index' AS object_type,
       {{qname "n.nspname" "ic.relname"}} AS name,
       ARRAY[CASE WHEN c.relkind = 'm' THEN 'materialized view ' ELSE 'table ' END || {{qname "tn.nspname" "c.relname"}}]
         || coalesce((SELECT array_agg('index ' || {{qname "pn.nspname" "pc.relname"}})
                      FROM pg_inherits h JOIN pg_class pc ON pc.oid = h.inhparent
                      JOIN pg_namespace pn ON pn.oid = pc.relnamespace
                      WHERE h.inhrelid = ic.oid), '{}') AS parents,
       json_build_object(
           'table', {{qname "tn.nspname" "c.relname"}},
           'definition', pg_get_indexdef(i.indexrelid),
           'method', am.amname::text,
           'unique', i.indisunique,
           'nulls_not_distinct', {{if .PG15}}i.indnullsnotdistinct{{else}}false{{end}},
           'predicate', pg_get_expr(i.indpred, i.indrelid),
           'options', (SELECT json_agg(o ORDER BY o) FROM unnest(ic.reloptions) o),
           'valid', i.indisvalid,
           'partition_of', (SELECT {{qname "pn.nspname" "pc.relname"}}
                            FROM pg_inherits h JOIN pg_class pc ON pc.oid = h.inhparent
                            JOIN pg_namespace pn ON pn.oid = pc.relnamespace
                            WHERE h.inhrelid = ic.oid)
       ) AS attrs
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = ic.relnamespace
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace tn ON tn.oid = c.relnamespace
JOIN pg_am am ON am.oid = ic.relam
WHERE c.relkind IN ('r', 'p', 'm')
  AND NOT EXISTS (SELECT 1 FROM pg_constraint con
                  WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x'))
  AND {{userSchema "tn.nspname"}}
  AND {{notExtension "pg_class" "c.oid"}}
ORDER BY 2

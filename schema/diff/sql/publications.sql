-- Publications: what they publish and which tables (with row filter and
-- column list on PG 15+) and schemas (PG 15+) they list.
SELECT 'publication' AS object_type,
       quote_ident(p.pubname) AS name,
       '{}'::text[] AS parents,
       json_build_object(
           'all_tables', p.puballtables,
           'publish', (SELECT json_agg(a ORDER BY ord) FROM (VALUES
                           (1, CASE WHEN p.pubinsert THEN 'insert' END),
                           (2, CASE WHEN p.pubupdate THEN 'update' END),
                           (3, CASE WHEN p.pubdelete THEN 'delete' END),
                           (4, CASE WHEN p.pubtruncate THEN 'truncate' END)) v(ord, a)
                       WHERE a IS NOT NULL),
           'via_root', p.pubviaroot,
           'tables', (SELECT json_agg(json_build_object(
                                 'table', {{qname "tn.nspname" "tc.relname"}},
{{- if .PG15}}
                                 'filter', pg_get_expr(pr.prqual, pr.prrelid),
                                 'columns', (SELECT json_agg(a.attname::text ORDER BY a.attnum)
                                             FROM pg_attribute a
                                             WHERE a.attrelid = pr.prrelid AND a.attnum = ANY (pr.prattrs::int2[]))
{{- else}}
                                 'filter', NULL,
                                 'columns', NULL
{{- end}}
                             ) ORDER BY tn.nspname, tc.relname)
                      FROM pg_publication_rel pr
                      JOIN pg_class tc ON tc.oid = pr.prrelid
                      JOIN pg_namespace tn ON tn.oid = tc.relnamespace
                      WHERE pr.prpubid = p.oid),
{{- if .PG15}}
           'schemas', (SELECT json_agg(quote_ident(sn.nspname) ORDER BY sn.nspname)
                       FROM pg_publication_namespace pn JOIN pg_namespace sn ON sn.oid = pn.pnnspid
                       WHERE pn.pnpubid = p.oid),
{{- else}}
           'schemas', NULL,
{{- end}}
           'owner', pg_get_userbyid(p.pubowner)::text
       ) AS attrs
FROM pg_publication p
ORDER BY 2

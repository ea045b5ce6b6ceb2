-- The publication $1: all tables, actions, and the tables it lists.
SELECT p.puballtables, p.pubinsert, p.pubupdate, p.pubdelete, p.pubtruncate,
       COALESCE((SELECT pg_catalog.array_agg(pt.schemaname || '.' || pt.tablename ORDER BY 1)
                   FROM pg_catalog.pg_publication_tables pt WHERE pt.pubname = p.pubname), '{}')
FROM pg_catalog.pg_publication p WHERE p.pubname = $1

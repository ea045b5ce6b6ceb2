-- Tables each publication publishes, as the subscriber will see them.
SELECT pubname::text, schemaname::text, tablename::text,
       quote_ident(schemaname) || '.' || quote_ident(tablename) AS object
FROM pg_publication_tables
ORDER BY 1, 2, 3

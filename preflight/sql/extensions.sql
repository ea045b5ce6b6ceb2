-- Installed extensions (plpgsql is always there).
SELECT extname::text, extversion::text
FROM pg_extension
WHERE extname <> 'plpgsql'
ORDER BY extname

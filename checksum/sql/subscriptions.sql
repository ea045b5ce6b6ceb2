-- Subscriptions of the target's current database (columns readable by any
-- role; subconninfo is not needed and not readable).
SELECT s.subname::text, COALESCE(s.subslotname::text, ''), s.subenabled
FROM pg_catalog.pg_subscription s
WHERE s.subdbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
ORDER BY 1

-- Enabled subscriptions of the target's current database and their slot
-- names. Only columns granted to PUBLIC are read (not subconninfo), so any
-- role may run it.
SELECT s.subname::text, s.subslotname::text
FROM pg_catalog.pg_subscription s
WHERE s.subdbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
  AND s.subenabled
  AND s.subslotname IS NOT NULL
ORDER BY 1

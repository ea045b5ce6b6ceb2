-- Slot names of the target database's enabled subscriptions. Only columns
-- granted to PUBLIC are read (subconninfo is not), so any role may run it.
SELECT subslotname::text
FROM pg_subscription
WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND subenabled
  AND subslotname IS NOT NULL
ORDER BY 1

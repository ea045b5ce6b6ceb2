-- Of the given slot names, the logical slots of the source's current
-- database, and whether a walsender is using them.
SELECT slot_name::text, active
FROM pg_catalog.pg_replication_slots
WHERE slot_type = 'logical'
  AND database = pg_catalog.current_database()
  AND slot_name = ANY($1::pg_catalog.text[])
ORDER BY 1

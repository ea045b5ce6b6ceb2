-- Of the given slot names, the active logical slots of this source database:
-- the ones feeding the target, whose confirmed position tells how far the
-- target has applied.
SELECT slot_name::text
FROM pg_replication_slots
WHERE slot_type = 'logical'
  AND database = current_database()
  AND active
  AND slot_name = ANY($1::text[])
ORDER BY 1

-- The slots that have not yet confirmed WAL position $2.
SELECT slot_name::text
FROM pg_replication_slots
WHERE slot_name = ANY($1::text[])
  AND (confirmed_flush_lsn IS NULL OR confirmed_flush_lsn < $2::pg_lsn)
ORDER BY 1

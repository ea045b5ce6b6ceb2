-- How many of the given slots have not confirmed the given source LSN: the
-- subscriber confirms a position only once everything before it is applied
-- and flushed.
SELECT pg_catalog.count(*)
FROM pg_catalog.pg_replication_slots
WHERE slot_name = ANY($1::pg_catalog.text[])
  AND (confirmed_flush_lsn IS NULL OR confirmed_flush_lsn < $2::pg_catalog.pg_lsn)

-- The given slots that have not confirmed WAL position $2 (a subscriber
-- confirms a position once everything before it is applied and flushed),
-- including slots that no longer exist.
SELECT n::text
FROM pg_catalog.unnest($1::pg_catalog.text[]) AS n
LEFT JOIN pg_catalog.pg_replication_slots s ON s.slot_name = n
WHERE s.confirmed_flush_lsn IS NULL OR s.confirmed_flush_lsn < $2::pg_catalog.pg_lsn
ORDER BY 1

-- Which of the given source slots exist and how many have not yet confirmed
-- the given LSN (a subscriber confirms a position once everything before it
-- is applied and flushed).
SELECT count(*) AS present,
       count(*) FILTER (WHERE confirmed_flush_lsn IS NULL
                           OR confirmed_flush_lsn < $2::pg_catalog.pg_lsn) AS behind
FROM pg_catalog.pg_replication_slots
WHERE slot_name = ANY($1::pg_catalog.text[])

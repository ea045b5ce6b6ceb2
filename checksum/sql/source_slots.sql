-- Logical pgoutput slots of the source's current database.
SELECT slot_name::text
FROM pg_catalog.pg_replication_slots
WHERE slot_type = 'logical' AND plugin = 'pgoutput' AND database = pg_catalog.current_database()
ORDER BY 1

SELECT slot_type, COALESCE(database, ''), active FROM pg_catalog.pg_replication_slots WHERE slot_name = $1

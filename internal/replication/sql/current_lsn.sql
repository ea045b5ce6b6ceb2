-- A WAL position past every commit the current snapshot sees: the insert
-- position, not pg_current_wal_lsn() (with synchronous_commit = off a
-- visible commit may not be written yet). A standby reports its replay
-- position.
SELECT CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_last_wal_replay_lsn()
            ELSE pg_catalog.pg_current_wal_insert_lsn() END::pg_catalog.text

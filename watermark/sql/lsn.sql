-- The source's WAL position: every commit visible to the current snapshot
-- lies before it. A standby reports its replay position.
SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
            ELSE pg_current_wal_lsn() END::text

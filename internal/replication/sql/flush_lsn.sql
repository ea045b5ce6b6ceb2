-- The source's WAL flush position, and how long asynchronous commits may
-- take to be flushed (three times wal_writer_delay, per the documentation of
-- synchronous_commit), in milliseconds. NULL position on a standby.
SELECT CASE WHEN pg_catalog.pg_is_in_recovery() THEN NULL
            ELSE pg_catalog.pg_current_wal_flush_lsn()::pg_catalog.text END,
       3 * EXTRACT(epoch FROM pg_catalog.current_setting('wal_writer_delay')::pg_catalog.interval) * 1000

-- Server settings the capacity and wal_level rules read. A name missing on
-- this major (max_active_replication_origins before 18) simply has no row.
SELECT name::text, setting::text
FROM pg_settings
WHERE name IN ('wal_level', 'max_replication_slots', 'max_wal_senders',
               'max_logical_replication_workers', 'max_worker_processes',
               'max_sync_workers_per_subscription', 'max_active_replication_origins',
               'shared_preload_libraries', 'server_version_num')

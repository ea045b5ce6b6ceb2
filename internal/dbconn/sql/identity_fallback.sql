-- For a role that may not call pg_control_system() (revoked by an
-- administrator): the postmaster's start time, to the microsecond, names the
-- running cluster instead; the same server always matches itself.
SELECT 'started ' || pg_postmaster_start_time()::text,
       (SELECT oid FROM pg_database WHERE datname = current_database())::bigint

-- Which database is this, whatever DSN text reached it: the cluster's
-- system identifier (fixed at initdb, kept by physical replicas) and the
-- database's OID. pg_control_system() is executable by PUBLIC on 13+.
SELECT (SELECT system_identifier FROM pg_control_system())::text,
       (SELECT oid FROM pg_database WHERE datname = current_database())::bigint

-- System identifier and database oid: equal on both sides means the same database.
SELECT (SELECT system_identifier::text FROM pg_catalog.pg_control_system()),
       d.oid::bigint, d.datname, pg_catalog.current_setting('server_version_num')::int,
       pg_catalog.pg_encoding_to_char(d.encoding), d.datcollate, d.datctype
FROM pg_catalog.pg_database d
WHERE d.datname = pg_catalog.current_database()

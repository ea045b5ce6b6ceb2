-- The subscription $1 in the current database.
SELECT s.oid::bigint, s.subenabled, s.subpublications, s.subslotname, pg_catalog.pg_get_userbyid(s.subowner),
       (SELECT rolsuper FROM pg_catalog.pg_roles WHERE oid = s.subowner)
FROM pg_catalog.pg_subscription s
WHERE s.subname = $1 AND s.subdbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())

-- What the source role may do: superuser, replication, CREATE on the database.
SELECT r.rolsuper, r.rolreplication,
       pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE'), r.rolname
FROM pg_catalog.pg_roles r WHERE r.rolname = current_user

-- What the target role may do: superuser, CREATEDB, CREATE on the database
-- and, on PG 16+, membership in pg_create_subscription.
SELECT r.rolsuper, r.rolcreatedb,
       pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE'),
       CASE WHEN pg_catalog.current_setting('server_version_num')::int >= 160000
            THEN pg_catalog.pg_has_role(current_user, 'pg_create_subscription', 'MEMBER') ELSE false END,
       r.rolname
FROM pg_catalog.pg_roles r WHERE r.rolname = current_user

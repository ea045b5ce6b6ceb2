-- ALTER DEFAULT PRIVILEGES entries: the grants objects created later by a
-- role will get. Compared only with --privileges.
SELECT 'default privileges' AS object_type,
       quote_ident(pg_get_userbyid(d.defaclrole)::text)
         || CASE WHEN d.defaclnamespace = 0 THEN '' ELSE ' in schema ' || quote_ident(n.nspname) END
         || ' on ' || CASE d.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences' WHEN 'f' THEN 'functions'
                                           WHEN 'T' THEN 'types' WHEN 'n' THEN 'schemas' ELSE d.defaclobjtype::text END AS name,
       CASE WHEN d.defaclnamespace = 0 THEN '{}'::text[] ELSE ARRAY['schema ' || quote_ident(n.nspname)] END AS parents,
       json_build_object(
           'acl', (SELECT coalesce(json_agg(json_build_array(
                       CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(x.grantee)::text END,
                       pg_get_userbyid(x.grantor)::text, x.privilege_type, x.is_grantable)), '[]')
                   FROM aclexplode(d.defaclacl) x)
       ) AS attrs
FROM pg_default_acl d
LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
ORDER BY 2

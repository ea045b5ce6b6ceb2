-- Extension versions this server can install.
SELECT name::text, version::text
FROM pg_available_extension_versions
ORDER BY 1, 2

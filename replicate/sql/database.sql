-- Does database $1 exist (run on the maintenance database)?
SELECT pg_catalog.pg_encoding_to_char(encoding), datcollate, datctype
FROM pg_catalog.pg_database WHERE datname = $1

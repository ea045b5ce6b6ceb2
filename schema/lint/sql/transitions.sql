-- Transition tables of statement triggers (REFERENCING NEW/OLD TABLE AS x):
-- names the trigger function's body uses as relations, which are not schema
-- objects and resolve under any search_path. Same query for PG 13 to 17.
SELECT t.tgfoid::pg_catalog.int8, n.name::pg_catalog.text
FROM pg_catalog.pg_trigger t
CROSS JOIN LATERAL (VALUES (t.tgoldtable), (t.tgnewtable)) AS n(name)
WHERE n.name IS NOT NULL
ORDER BY 1, 2

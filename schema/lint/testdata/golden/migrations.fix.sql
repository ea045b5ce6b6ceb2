-- pgverify schema lint --fix
-- Pins search_path on the functions below. Run it on the source and on the
-- target (before creating the subscription, or while it retries); every
-- statement is idempotent.
BEGIN;

-- app.headline(app.articles): PGV102
ALTER FUNCTION app.headline(app.articles) SET search_path TO app, pg_temp;

COMMIT;

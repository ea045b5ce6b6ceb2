-- pgverify schema lint --fix
-- Pins search_path on the functions below. Run it on the source and on the
-- target (before creating the subscription, or while it retries); every
-- statement is idempotent.
BEGIN;

-- app.valid_payload(jsonb): PGV101
ALTER FUNCTION app.valid_payload(jsonb) SET search_path TO app, pg_temp;

-- app.pinned_wrong(jsonb): PGV105
ALTER FUNCTION app.pinned_wrong(jsonb) SET search_path TO public, app;

-- app.next_no(): PGV101
ALTER FUNCTION app.next_no() SET search_path TO app, pg_temp;

-- app.audit(): PGV101
ALTER FUNCTION app.audit() SET search_path TO app, pg_temp;

-- app.touch(): PGV102
ALTER FUNCTION app.touch() SET search_path TO app, pg_temp;

-- app.customer_exists(integer): PGV103
ALTER FUNCTION app.customer_exists(int) SET search_path TO app, pg_temp;

-- app.search_key(text): PGV101
ALTER FUNCTION app.search_key(text) SET search_path TO app, pg_temp;

-- app.fmt(numeric): PGV101
ALTER FUNCTION app.fmt(numeric) SET search_path TO app, pg_temp;

-- app.is_status(text): PGV101
ALTER FUNCTION app.is_status(text) SET search_path TO app, pg_temp;

-- app.admin_count(): PGV103, PGV104
ALTER FUNCTION app.admin_count() SET search_path TO app, pg_temp;

-- app.dyn_check(text): PGV106
-- note: the body runs dynamic SQL; the path keeps the schemas it resolved in on the source, in order (public, app): objects it creates without a schema still go to public
ALTER FUNCTION app.dyn_check(text) SET search_path TO public, app, pg_temp;

-- app.same_total(numeric, numeric): PGV102
ALTER FUNCTION app.same_total(numeric, numeric) SET search_path TO app, pg_temp;

COMMIT;
